#include "suite/services.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <thread>

#include "core/error.h"
#include "core/events.h"
#include "core/interrupt.h"
#include "core/log.h"

namespace gate::suite {
namespace {

using Clock = std::chrono::steady_clock;

bool tcp_open(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(host_port.c_str() + colon + 1)));
  if (inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr) != 1) return false;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Whether a loopback port can be bound now (so a fixed host port taken by
// another process is named before docker's own, vaguer, error).
bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string env_name(const std::string& service) {
  std::string out;
  for (char c : service) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

}  // namespace

Services::~Services() {
  try {
    stop_all();
  } catch (const std::exception& e) {
    log::warn(fmt::format("stopping services: {}", e.what()));
  }
}

void Services::stop_all() {
  for (const auto& id : containers_) engine_.stop(id, 10);
  containers_.clear();
}

void Services::start(const config::Consumer& consumer, config::Values& values, process::Environment& env,
                     const std::string& run_label) {
  const std::string where = fmt::format("consumer '{}'", consumer.name);
  for (const auto& service : consumer.services) {
    std::string what = fmt::format("{} service '{}'", where, service.name);
    std::string image = config::expand(service.image, values, what);
    std::map<std::string, std::string> service_env;
    for (const auto& [key, tmpl] : service.env) service_env[key] = config::expand(tmpl, values, what);
    std::vector<std::string> volumes;
    for (const auto& [dir, variable] : shared_) {
      volumes.push_back(dir);
      service_env[variable] = dir;
    }
    for (const auto& [container_port, host_port] : service.host_ports) {
      // The previous phase's service may still be releasing it: a moment's grace.
      bool free = port_free(host_port);
      for (int i = 0; i < 20 && !free; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        free = port_free(host_port);
      }
      if (!free) {
        throw InfraError(
            fmt::format("{}: host port 127.0.0.1:{} (for container port {}) is taken by another process; "
                        "free it or choose another in host_ports",
                        what, host_port, container_port));
      }
    }
    std::string id = engine_.run_detached(image, service.ports, service_env, run_label + "." + service.name, volumes,
                                          service.host_ports);
    containers_.push_back(id);
    runs_.push_back({service.name, image, id.substr(0, 12)});
    const std::string prefix = "SERVICE_" + env_name(service.name);
    std::string first_host_port;
    for (int port : service.ports) {
      std::string host_port = engine_.host_port(id, port);
      if (first_host_port.empty()) first_host_port = host_port;
      values[fmt::format("{}_PORT_{}", prefix, port)] = host_port.substr(host_port.rfind(':') + 1);
    }
    if (!first_host_port.empty()) {
      values[prefix + "_HOST"] = first_host_port.substr(0, first_host_port.rfind(':'));
      values[prefix + "_PORT"] = first_host_port.substr(first_host_port.rfind(':') + 1);
    } else {
      values[prefix + "_HOST"] = "127.0.0.1";
    }
    for (const auto& [key, value] : values) {
      if (key.rfind(prefix, 0) == 0) env[key] = value;
    }
    // Ready: the TCP port answers, or the command exits 0; nothing else counts.
    const auto started = Clock::now();
    auto deadline = started + service.ready_timeout;
    bool ready = false;
    while (!ready && Clock::now() < deadline) {
      interrupt::throw_if_requested();
      if (!engine_.is_running(id)) break;
      if (service.ready_tcp > 0) {
        std::string host_port = engine_.host_port(id, service.ready_tcp);
        ready = tcp_open(host_port);
      } else if (!service.ready_command.empty()) {
        process::Spec spec;
        for (const auto& part : service.ready_command) spec.argv.push_back(config::expand(part, values, what));
        spec.env = env;
        spec.timeout = std::chrono::seconds(10);
        ready = process::run(spec).ok();
      } else {
        ready = engine_.is_running(id);
      }
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready) {
      std::string logs = engine_.logs_tail(id, 10);
      throw InfraError(fmt::format("{} ({}) not ready within {}s{}{}", what, image,
                                   std::chrono::duration_cast<std::chrono::seconds>(service.ready_timeout).count(),
                                   engine_.is_running(id) ? "" : " (it exited)",
                                   logs.empty() ? "" : "; its last output:\n" + logs));
    }
    events::record({{"type", "service"},
                    {"name", service.name},
                    {"id", id.substr(0, 12)},
                    {"action", "ready"},
                    {"seconds", std::chrono::duration<double>(Clock::now() - started).count()},
                    {"time_nano", std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count()}});
    log::info(fmt::format("{}: service {} ready at {}", consumer.name, service.name,
                          first_host_port.empty() ? "(no port)" : first_host_port));
  }
}

}  // namespace gate::suite
