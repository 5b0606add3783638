// tools/train/distributed.hpp — data-parallel training on PyTorch's c10d (Gloo; NCCL with CUDA).
//
// A data-parallel job is WORLD copies ("ranks") of `circumplex train`, each holding the whole
// model and training on its own part of every global batch:
//   * rendezvous: rank 0 hosts a c10d::TCPStore at MASTER_ADDR:MASTER_PORT; every rank
//     connects to it, and the process group (ProcessGroupGloo on CPU) meets through it;
//   * start: rank 0 decides where training starts (fresh, or its checkpoint on --resume) and
//     broadcasts weights and optimiser state, so every rank starts from rank 0's state;
//   * data: each global batch of the shared (seed, epoch) order is cut into WORLD contiguous
//     slices (rank_share), so the ranks' shards are disjoint and together cover the epoch;
//   * gradients: GradientReducer sums them over the ranks with all-reduce, in buckets that
//     start while the backward pass is still running;
//   * failures: every collective and store operation has a timeout (DistOptions), and a dead
//     peer, an unreachable store or a timeout becomes a circumplex::Error naming the rank.
// launch_local() is `circumplex train --nproc N`: it starts N ranks of this program on this
// machine with the variables torchrun would set, forwards signals and waits for them.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace circumplex::tools::dist {

/// Where this process sits in a data-parallel job (torchrun's variables, or train's flags).
struct DistOptions {
  int world = 1;                        ///< WORLD_SIZE: number of ranks (1: not distributed)
  int rank = 0;                         ///< RANK: 0 … world-1; rank 0 hosts the store and writes files
  int local_rank = 0;                   ///< LOCAL_RANK: index on this machine (the CUDA device with NCCL)
  std::string master_addr = "127.0.0.1";  ///< MASTER_ADDR: host of rank 0's TCPStore
  int master_port = 29500;              ///< MASTER_PORT: the store's TCP port
  std::string backend = "gloo";         ///< "gloo" (CPU tensors) or "nccl" (CUDA tensors, CUDA builds only)
  double timeout_seconds = 60.0;        ///< bound on rendezvous, store reads and each collective

  bool enabled() const { return world > 1; }
};

/// Fills `options` from MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK and LOCAL_RANK where set.
/// Throws circumplex::Error(InvalidArgument) naming a malformed variable.
void read_environment(DistOptions& options);

/// Throws circumplex::Error(InvalidArgument) naming the field when the options are unusable.
void validate(const DistOptions& options);

/// True when this LibTorch can run the backend ("gloo", "nccl").
bool backend_available(const std::string& backend);

// --- Sharding -----------------------------------------------------------------------------

/// Mixes a seed with an index (epoch, step, …) into a new, well-spread seed.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t index);

/// The order of the n training images in `epoch`: a shuffle from (seed, epoch), the same on
/// every rank.
std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, int epoch);

/// Rank `rank`'s slice [begin, end) of `count` items: contiguous, in rank order, sizes differing
/// by at most one; the slices of ranks 0 … world-1 are disjoint and cover [0, count).
std::pair<std::int64_t, std::int64_t> rank_share(std::int64_t count, int rank, int world);

/// Rank `rank`'s part of global batch `step` (0-based) of an epoch's `order`: the global batch
/// is `count` images of `order` from `step`·`batch` on (the last may be short), and the rank
/// trains on `images`, its rank_share of them, which start at position `first` of the batch.
/// Over the steps of an epoch the ranks' images are disjoint and cover the order.
struct StepSlice {
  std::vector<std::int64_t> images;
  std::int64_t first = 0, count = 0;
};
StepSlice step_slice(const std::vector<std::int64_t>& order, std::int64_t batch, std::int64_t step, int rank, int world);

// --- Process group --------------------------------------------------------------------------

/// One rank's membership in the job: the TCPStore and the c10d process group.
class Group {
 public:
  /// Rendezvous: rank 0 starts the store and waits for the others; all build the process group.
  /// Throws circumplex::Error (store unreachable, a rank missing, timeout) naming the address.
  explicit Group(const DistOptions& options);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  /// "rank R of W" for messages.
  std::string who() const;

  /// Rank 0's text on every rank, through the store under `key`. On rank 0 pass `text`; when
  /// `failed` is true, the text is rank 0's error message and every other rank throws it.
  std::string share_from_rank0(const std::string& key, const std::string& text, bool failed = false);
  /// Overwrites each tensor on every rank with rank 0's value (one flat broadcast).
  void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors, const std::string& what);
  /// Starts an in-place sum over the ranks of `tensor` (contiguous); wait_all() finishes it.
  void start_sum(const torch::Tensor& tensor);
  /// Waits for every started sum; throws circumplex::Error naming `what` when a rank failed.
  void wait_all(const std::string& what);
  /// Blocks until every rank gets here (bounded by the timeout).
  void barrier(const std::string& what);

 private:
  struct Impl;
  [[noreturn]] void fail(const std::string& what, const std::string& cause) const;

  DistOptions options_;
  std::unique_ptr<Impl> impl_;
};

/// Sums the gradients of `params` over the ranks after each backward pass, in buckets of about
/// `bucket_bytes`. A hook on each parameter copies its gradient into its bucket as backward
/// produces it; a full bucket starts its all-reduce at once (buckets start in a fixed order, the
/// same on every rank), so communication overlaps the rest of the backward pass.
class GradientReducer {
 public:
  GradientReducer(Group& group, std::vector<torch::Tensor> params, std::int64_t bucket_bytes = 4 << 20);
  /// After backward: starts the buckets still waiting (parameters without a gradient count as
  /// zero), waits for all sums (and any other sum started on the group) and writes them into
  /// each parameter's .grad.
  void finish();

 private:
  struct Bucket {
    torch::Tensor flat;                 // float32, the bucket's gradients back to back
    std::vector<std::size_t> members;   // indices into params_
    std::size_t waiting = 0;            // members whose gradient has not arrived this step
  };
  void on_gradient(std::size_t param, const torch::Tensor& grad);
  void start_ready();
  void reset();

  Group& group_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_, offset_;  // per parameter
  std::vector<bool> arrived_;
  std::size_t next_ = 0;                          // first bucket not yet started
};

// --- Launcher ---------------------------------------------------------------------------------

/// `circumplex train --nproc N`: runs `args` (argv of this program without --nproc) as ranks
/// 0 … N-1 on this machine, each with MASTER_ADDR=127.0.0.1, MASTER_PORT (`port`, 0: a free
/// one), WORLD_SIZE, RANK, LOCAL_RANK and LOCAL_WORLD_SIZE set. SIGINT/SIGTERM are forwarded to
/// every rank. When a rank fails, the others get `grace_seconds` to notice and exit before they
/// are killed. Returns 0 when every rank succeeded, else the first failing rank's exit code
/// (128 + signal for a rank killed by a signal).
int launch_local(int nproc, const std::vector<std::string>& args, int port, double grace_seconds);

}  // namespace circumplex::tools::dist
