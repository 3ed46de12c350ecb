#include "registry/reference.h"

#include <gtest/gtest.h>

#include "core/error.h"

using gate::registry::parse_reference;

TEST(Reference, RegistryWithPortNestedPathTagAndDigest) {
  auto ref = parse_reference("127.0.0.1:5000/acme/tools/emulator:pr-1a2b@sha256:" + std::string(64, 'a'));
  EXPECT_EQ(ref.registry, "127.0.0.1:5000");
  EXPECT_EQ(ref.repository, "acme/tools/emulator");
  EXPECT_EQ(ref.tag, "pr-1a2b");
  EXPECT_EQ(ref.digest, "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(ref.name(), "127.0.0.1:5000/acme/tools/emulator");
}

TEST(Reference, DockerHubDefaults) {
  auto ref = parse_reference("ubuntu:22.04");
  EXPECT_EQ(ref.registry, "docker.io");
  EXPECT_EQ(ref.repository, "library/ubuntu");
  EXPECT_EQ(ref.tag, "22.04");
  EXPECT_EQ(parse_reference("acme/emu").repository, "acme/emu");
  EXPECT_EQ(parse_reference("localhost/emu").registry, "localhost");
}

TEST(Reference, PortIsNotMistakenForTag) {
  auto ref = parse_reference("registry.example.com:443/acme/emu");
  EXPECT_EQ(ref.registry, "registry.example.com:443");
  EXPECT_EQ(ref.tag, "");
}

TEST(Reference, InvalidReferencesSayWhy) {
  EXPECT_THROW(parse_reference("Acme/Emu"), gate::UsageError);
  EXPECT_THROW(parse_reference("acme/emu:bad tag"), gate::UsageError);
  EXPECT_THROW(parse_reference("acme/emu@sha256:123"), gate::UsageError);
  EXPECT_THROW(parse_reference(""), gate::UsageError);
  auto problem = gate::registry::reference_problem("acme//emu");
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("path component"), std::string::npos);
}

TEST(Reference, LoopbackRegistries) {
  EXPECT_TRUE(gate::registry::is_loopback_registry("127.0.0.1:5000"));
  EXPECT_TRUE(gate::registry::is_loopback_registry("localhost:5000"));
  EXPECT_TRUE(gate::registry::is_loopback_registry("[::1]:5000"));
  EXPECT_FALSE(gate::registry::is_loopback_registry("registry.example.com"));
  EXPECT_FALSE(gate::registry::is_loopback_registry("10.0.0.1:5000"));
}

TEST(Reference, GrammarEdgeCases) {
  using gate::registry::reference_problem;
  EXPECT_FALSE(reference_problem("[::1]:5000/acme/emu"));
  EXPECT_FALSE(reference_problem("my-registry.example.com:5000/a/b-c__d.e--f"));
  EXPECT_FALSE(reference_problem("acme/emu:v1.2.3-rc_1"));
  EXPECT_TRUE(reference_problem("-bad.example.com/acme/emu"));
  EXPECT_TRUE(reference_problem("bad-.example.com/acme/emu"));
  EXPECT_TRUE(reference_problem("registry.example.com:port/acme/emu"));
  EXPECT_TRUE(reference_problem("acme/emu___x"));
  EXPECT_TRUE(reference_problem("acme/-emu"));
  EXPECT_TRUE(reference_problem("acme/emu.:tag"));
  EXPECT_TRUE(reference_problem("acme/emu:.tag"));
  EXPECT_TRUE(reference_problem("acme/emu:" + std::string(129, 'a')));
  EXPECT_FALSE(reference_problem("acme/emu:" + std::string(128, 'a')));
  EXPECT_TRUE(reference_problem("acme/emu@sha256:" + std::string(64, 'A')));
}
