// Allocation-heavy C++ workload for tests/programs/run.sh.
//
// std::thread with the standard containers (vector, string, map, unordered_map, list,
// deque, shared_ptr, unique_ptr, function): per-thread work, plus a producer/consumer
// queue that moves heap objects between threads, so blocks allocated on one thread are
// freed on another, and shared_ptrs whose last owner is on a different thread.
// Output depends only on the work, never on addresses or scheduling: it must be the same
// with and without LD_PRELOAD.
//
// Build: g++ -O2 -pthread -o cxx_threads cxx_threads.cpp     Run: ./cxx_threads [scale]
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Rng {
  uint64_t x;
  explicit Rng(uint64_t seed) : x(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return x;
  }
};

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h;
}

uint64_t hash_str(const std::string &s) {  // FNV-1a; std::hash may differ between libs
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) { h ^= c; h *= 1099511628211ull; }
  return h;
}

int scale = 1;

// --- per-thread container churn --------------------------------------------------------
uint64_t churn(int id) {
  Rng r(id + 1);
  uint64_t h = 0;
  for (int round = 0; round < 12 * scale; round++) {
    std::vector<std::string> words;
    for (int i = 0; i < 4000; i++) {
      std::string w = "w" + std::to_string(r.next() % 100000);
      if (i % 3 == 0) w += std::string(r.next() % 40, 'x');  // some past the SSO limit
      words.push_back(std::move(w));
    }
    std::map<std::string, int> counts;
    for (auto &w : words) counts[w]++;
    std::unordered_map<uint64_t, std::vector<int>> buckets;
    for (int i = 0; i < 8000; i++) buckets[r.next() % 1500].push_back(i);
    std::list<std::unique_ptr<std::vector<uint32_t>>> lst;
    for (int i = 0; i < 1000; i++) {
      lst.push_back(std::make_unique<std::vector<uint32_t>>(r.next() % 100, i));
      if (i % 4 == 0) lst.pop_front();
    }
    std::deque<std::string> dq;
    for (int i = 0; i < 3000; i++) {
      dq.push_back(std::to_string(i * 7919));
      if (i % 2) dq.pop_front();
    }
    for (auto &kv : counts) h = mix(h, hash_str(kv.first) + kv.second);
    std::vector<uint64_t> keys;
    for (auto &kv : buckets) keys.push_back(kv.first * 1000003 + kv.second.size());
    std::sort(keys.begin(), keys.end());  // unordered iteration order must not leak out
    for (auto k : keys) h = mix(h, k);
    for (auto &p : lst) h = mix(h, p->size() + (p->empty() ? 0 : (*p)[0]));
    for (auto &s : dq) h = mix(h, hash_str(s));
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    h = mix(h, words.size());
  }
  return h;
}

// --- producer/consumer: ownership crosses threads ----------------------------------------
struct Message {
  int producer;
  int seq;
  std::string text;
  std::vector<int> payload;
  std::shared_ptr<const std::string> shared;
};

class Channel {
 public:
  void push(std::unique_ptr<Message> m) {
    std::unique_lock<std::mutex> lk(mu_);
    not_full_.wait(lk, [&] { return q_.size() < 512; });
    q_.push_back(std::move(m));
    not_empty_.notify_one();
  }
  std::unique_ptr<Message> pop() {  // nullptr = closed and drained
    std::unique_lock<std::mutex> lk(mu_);
    not_empty_.wait(lk, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return nullptr;
    auto m = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return m;
  }
  void close() {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<std::unique_ptr<Message>> q_;
  bool closed_ = false;
};

uint64_t pipeline() {
  const int nprod = 3, ncons = 3, per = 40000 * scale;
  Channel ch;
  std::atomic<uint64_t> total{0};
  std::atomic<uint64_t> count{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < nprod; p++) {
    threads.emplace_back([&, p] {
      Rng r(100 + p);
      auto shared = std::make_shared<const std::string>("shared-by-producer-" + std::to_string(p));
      for (int i = 0; i < per; i++) {
        auto m = std::make_unique<Message>();
        m->producer = p;
        m->seq = i;
        m->text = "msg-" + std::to_string(p) + "-" + std::to_string(i);
        m->payload.resize(1 + r.next() % 200);
        for (auto &v : m->payload) v = int(r.next() % 1000);
        if (i % 16 == 0) shared = std::make_shared<const std::string>(m->text + std::string(i % 300, 's'));
        m->shared = shared;  // the last owner is often a consumer thread
        ch.push(std::move(m));
      }
    });
  }
  std::vector<std::thread> consumers;
  for (int c = 0; c < ncons; c++) {
    consumers.emplace_back([&] {
      uint64_t s = 0, n = 0;
      std::map<int, std::string> keep;  // some messages are kept a while, then freed here
      while (auto m = ch.pop()) {
        uint64_t v = hash_str(m->text) ^ hash_str(*m->shared);
        for (int x : m->payload) v += x;
        s += v;  // addition commutes: the total does not depend on who consumed what
        n++;
        if (m->seq % 7 == 0) keep[m->producer * 10000000 + m->seq] = std::move(m->text);
        if (keep.size() > 300) keep.erase(keep.begin(), std::next(keep.begin(), 200));
      }
      total += s;
      count += n;
    });
  }
  for (auto &t : threads) t.join();
  ch.close();
  for (auto &t : consumers) t.join();
  return mix(total.load(), count.load());
}

// --- many short-lived threads, each with its own first allocations -----------------------
uint64_t short_threads() {
  uint64_t h = 0;
  for (int batch = 0; batch < 20 * scale; batch++) {
    std::vector<uint64_t> out(8);
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; t++) {
      ts.emplace_back([&out, t, batch] {
        std::vector<std::function<uint64_t(uint64_t)>> fs;
        for (int i = 0; i < 50; i++) {
          auto cap = std::make_shared<std::vector<uint64_t>>(i + 1, uint64_t(t + batch));
          fs.emplace_back([cap](uint64_t x) { return x * 31 + cap->size() + (*cap)[0]; });
        }
        uint64_t v = 1;
        for (auto &f : fs) v = f(v);
        out[t] = v;
      });
    }
    for (auto &t : ts) t.join();
    for (auto v : out) h = mix(h, v);
  }
  return h;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc > 1) scale = std::max(1, atoi(argv[1]));
  const int nthreads = 4;
  std::vector<uint64_t> results(nthreads);
  std::vector<std::thread> ts;
  for (int i = 0; i < nthreads; i++) ts.emplace_back([&results, i] { results[i] = churn(i); });
  for (auto &t : ts) t.join();
  uint64_t h = 0;
  for (int i = 0; i < nthreads; i++) {
    printf("churn[%d] %016llx\n", i, (unsigned long long)results[i]);
    h = mix(h, results[i]);
  }
  uint64_t p = pipeline();
  printf("pipeline %016llx\n", (unsigned long long)p);
  uint64_t s = short_threads();
  printf("short_threads %016llx\n", (unsigned long long)s);
  h = mix(mix(h, p), s);
  printf("checksum %016llx\n", (unsigned long long)h);
  return 0;
}
