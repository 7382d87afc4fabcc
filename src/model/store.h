#pragma once
// Posture: the bytes a store returns are untrusted (a store, like the host, may be hostile):
// callers verify them against a signed manifest (package.h). Limits: Fetch takes a byte cap;
// ReadRange reads at most `length` bytes. Names are checked with ValidateId / ValidateFileName
// before they touch a path. Fuzz target: none (no parsing here beyond URLs).
//
// eml::model::ModelStore: where published model packages live, addressed by model id, version and
// file name (a package's stored paths: manifest.json, manifest.sig, <name>, <name>.enc). One
// small interface; implementations live in src/model/stores/ and are picked by URL scheme in
// store.cc (an explicit table):
//   file:///abs/dir   stores/file_store.h: DIR/<model_id>/<version>/<stored path>
//   s3://bucket/pfx   stores/s3_store.h: BUCKET/PFX/<model_id>/<version>/<stored path>, with
//                     credentials, region and endpoint from the environment (docs/stores.md)
//   http://host:port  stores/http_store.h: read-only, through the host's storage proxy
//                     (host/store_proxy.h): URL/v1/store/<model_id>/<version>/<stored path>
//
// Thread safety: a store object may be used from one thread at a time.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/manifest.h"

namespace eml::model {

class ModelStore {
 public:
  virtual ~ModelStore() = default;

  // Publish copies the package in `package_dir` (its manifest.json must parse; the signature is
  // the reader's to check) to <model_id>/<version>/, all or nothing: the version appears only
  // once every file is in place, with the size the manifest gives. Versions are immutable.
  // Errors: ParseManifest's, kStoreVersionExists, kPackageFileMissing, kPackageSizeMismatch,
  // kIoError.
  virtual Status Publish(const std::filesystem::path& package_dir) = 0;

  // Size returns the size of a stored file. Errors: kManifestBadField / kManifestBadFileName (bad
  // names), kStoreNotFound, kIoError.
  virtual Result<uint64_t> Size(std::string_view model_id, std::string_view version,
                                std::string_view name) = 0;

  // Fetch returns a whole stored file of at most `max_bytes`. Errors: as Size, kLimitExceeded.
  virtual Result<std::vector<uint8_t>> Fetch(std::string_view model_id, std::string_view version,
                                             std::string_view name, size_t max_bytes) = 0;

  // ReadRange returns `length` bytes at `offset` (e.g. one encrypted segment).
  // Errors: as Size, kStoreBadRange (not inside the file).
  virtual Result<std::vector<uint8_t>> ReadRange(std::string_view model_id,
                                                 std::string_view version, std::string_view name,
                                                 uint64_t offset, size_t length) = 0;
};

// OpenModelStore returns the store for `url`: file://DIR, s3://BUCKET/PREFIX, http://HOST:PORT
// (the host's storage proxy), or the storage proxy's channel address unix:PATH or
// vsock:CID:PORT (an http store over that socket; docs/stores.md).
// Errors: kStoreUnsupportedScheme (any scheme but file://, s3:// and http://), kStoreBadUrl (no
// scheme, a file:// URL whose path is not absolute, a malformed s3:// bucket or prefix, a
// malformed http:// URL or socket address), kNotFound (the file:// directory does not exist),
// kAwsNoCredentials (s3:// without AWS credentials).
Result<std::unique_ptr<ModelStore>> OpenModelStore(std::string_view url);

}  // namespace eml::model
