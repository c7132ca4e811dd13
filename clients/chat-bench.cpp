// chat-bench: how many chat lines per second a chat-server delivers, and how much memory it
// takes meanwhile (the sum over its processes). A measuring tool, not a test: see
// docs/benchmarks.md, section "chat".
//
// It connects --members clients, waits for every greeting (all have joined), then each sends
// --lines lines of --size bytes as fast as the server takes them, and every client reads
// until it has all the lines of the others. One thread polls every socket.
//
// Try it:   chat-server --listen 127.0.0.1:9999 --model fork --max-children 100 &
//           chat-bench 127.0.0.1:9999 --members 50 --server-pid $!
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "client.hpp"
#include "error.hpp"
#include "socket.hpp"

using namespace sockserv;

namespace {

struct Member {
  UniqueFd socket;
  std::string out;      // lines still to send
  std::string partial;  // an incomplete line received
  size_t received = 0;  // relayed lines ("[nick] ...") received
};

// Sum of Rss and Pss (kB, from smaps_rollup) over `pid` and its children.
std::string memory_of(pid_t pid) {
  std::vector<pid_t> pids{pid};
  std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                         "/children");
  for (pid_t child; children >> child;) pids.push_back(child);
  long rss = 0, pss = 0;
  for (pid_t p : pids) {
    std::ifstream rollup("/proc/" + std::to_string(p) + "/smaps_rollup");
    for (std::string line; std::getline(rollup, line);) {  // "Rss:   1668 kB"
      std::istringstream fields(line);
      std::string key;
      long kb = 0;
      if (!(fields >> key >> kb)) continue;  // the first line names the address range
      if (key == "Rss:") rss += kb;
      if (key == "Pss:") pss += kb;
    }
  }
  std::ostringstream text;
  text << pids.size() << " processes, RSS " << rss / 1024.0 << " MiB, PSS " << pss / 1024.0
       << " MiB";
  return text.str();
}

// Reads what has arrived and counts the relayed lines; false when the server closed.
bool take_input(Member& m) {
  char buffer[64 * 1024];
  size_t n = read_some(m.socket.get(), std::as_writable_bytes(std::span(buffer)),
                       Deadline::after(Millis(0)), client_io());
  if (n == 0) return false;
  m.partial.append(buffer, n);
  size_t start = 0;
  for (size_t end; (end = m.partial.find('\n', start)) != std::string::npos; start = end + 1) {
    if (m.partial[start] == '[') ++m.received;
  }
  m.partial.erase(0, start);
  return true;
}

int bench(const Endpoint& server, size_t members, size_t lines, size_t size, pid_t server_pid) {
  std::vector<Member> all(members);
  for (size_t i = 0; i < members; ++i) {
    all[i].socket = connect_to(server);
    set_nonblocking(all[i].socket.get(), true);
    // The greeting comes once the member has joined: then it cannot miss a line.
    char byte = 0;
    while (byte != '\n')
      read_full(all[i].socket.get(), std::as_writable_bytes(std::span(&byte, 1)),
                Deadline::after(Millis(10'000)), client_io());
    for (size_t j = 0; j < lines; ++j) {
      std::string line = "b" + std::to_string(i) + " " + std::to_string(j) + " ";
      all[i].out += line + std::string(size > line.size() ? size - line.size() : 0, 'x') + "\n";
    }
  }
  if (server_pid > 0)
    std::cout << "server with " << members << " members joined: " << memory_of(server_pid) << "\n";
  size_t expected = (members - 1) * lines, done = 0;
  Deadline deadline = Deadline::after(Millis(300'000));
  auto start = Clock::now();
  while (done < members) {
    std::vector<pollfd> fds;
    for (Member& m : all)
      fds.push_back(
          {m.socket.get(), static_cast<short>(POLLIN | (m.out.empty() ? 0 : POLLOUT)), 0});
    if (!client_io().wait(fds, deadline))
      throw TimeoutError("chat-bench: lines missing after 300 s");
    done = 0;
    for (size_t i = 0; i < members; ++i) {
      Member& m = all[i];
      if ((fds[i].revents & POLLOUT) != 0)
        m.out.erase(0, write_some(m.socket.get(), as_bytes(m.out)));
      if ((fds[i].revents & ~POLLOUT) != 0 && !take_input(m))
        throw std::runtime_error("server closed a member");
      done += m.received >= expected ? 1 : 0;
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double delivered = static_cast<double>(members * expected);
  std::cout << "delivered " << members * expected << " lines of " << size << " bytes in " << seconds
            << " s: " << static_cast<long>(delivered / seconds) << " lines/s\n";
  if (server_pid > 0) std::cout << "server after the run: " << memory_of(server_pid) << "\n";
  return EX_OK;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("chat-bench options");
  options.add_options()("address", po::value<std::string>()->required(),
                        "chat-server: HOST:PORT or unix:PATH")(
      "members", non_negative<size_t>()->default_value(50), "clients in the room")(
      "lines", non_negative<size_t>()->default_value(200), "lines each client sends")(
      "size", non_negative<size_t>()->default_value(64), "bytes per line")(
      "server-pid", non_negative<pid_t>()->default_value(0),
      "also report this server's memory (and its children's)");
  po::positional_options_description positional;
  positional.add("address", 1);
  return run_client({"chat-bench", "ADDR [--members N] [--lines N] [--server-pid PID]",
                     "Measures chat lines delivered per second."},
                    argc, argv, options, positional, [](const po::variables_map& v) {
                      if (v["members"].as<size_t>() < 2)
                        throw UsageError("--members must be at least 2");
                      return bench(parse_endpoint(v["address"].as<std::string>()),
                                   v["members"].as<size_t>(), v["lines"].as<size_t>(),
                                   v["size"].as<size_t>(), v["server-pid"].as<pid_t>());
                    });
}
