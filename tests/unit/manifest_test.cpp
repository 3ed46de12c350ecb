#include "registry/manifest.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "registry/digest.h"

using namespace gate::registry;

TEST(ManifestRefs, IndexChildrenWithPlatforms) {
  auto refs = manifest_refs(kOciIndex, R"({"schemaVersion":2,"manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":10,"platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":11,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]})",
                            "x");
  EXPECT_TRUE(refs.is_index);
  ASSERT_EQ(refs.manifests.size(), 2u);
  EXPECT_EQ(refs.manifests[1].platform, "linux/arm64/v8");
  EXPECT_TRUE(refs.blobs.empty());
}

TEST(ManifestRefs, ImageConfigAndLayers) {
  auto refs = manifest_refs(kDockerManifest + std::string("; charset=utf-8"), R"({"schemaVersion":2,
    "config":{"digest":"sha256:c","size":1},"layers":[{"digest":"sha256:l1","size":2},{"digest":"sha256:l2","size":3}]})",
                            "x");
  EXPECT_FALSE(refs.is_index);
  ASSERT_EQ(refs.blobs.size(), 3u);
  EXPECT_EQ(refs.blobs[0].digest, "sha256:c");
  EXPECT_EQ(refs.blobs[2].size, 3);
}

TEST(ManifestRefs, MediaTypeFromBodyWhenHeaderIsVague) {
  auto refs = manifest_refs("application/json",
                            R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})", "x");
  EXPECT_TRUE(refs.is_index);
}

TEST(ManifestRefs, RejectsUnknownTypesAndBrokenBodies) {
  EXPECT_THROW(manifest_refs("application/vnd.docker.distribution.manifest.v1+prettyjws", "{}", "x"), gate::InfraError);
  EXPECT_THROW(manifest_refs(kOciManifest, "not json", "x"), gate::InfraError);
  EXPECT_THROW(manifest_refs(kOciIndex, R"({"manifests":[{"size":1}]})", "x"), gate::InfraError);
}

TEST(Digest, Sha256OfBytes) {
  EXPECT_EQ(sha256_digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_digest("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
