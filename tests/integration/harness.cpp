// The test harness: processes, sockets and /proc.
#include "harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "error.hpp"
#include "models/model.hpp"

namespace sockserv::test {

TempDir::TempDir(const std::string& stem, const std::string& base) {
  std::string name = base + "/sockserv-" + stem + "-XXXXXX";  // mkdtemp(3) fills in the end
  if (::mkdtemp(name.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  path = name;
  // mkdtemp makes it 0700; inetd and DynamicUser units start servers as "nobody", which
  // must reach their files here.
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                std::filesystem::perms::others_exec);
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size())
    ++count;
  return count;
}

std::string memory_backed_base() {
  return ::access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw: a leftover is only untidy
  std::filesystem::remove_all(path, ignored);
}

void TempDir::write(const std::string& name, const std::string& data) const {
  std::filesystem::create_directories((path / name).parent_path());
  std::ofstream(path / name, std::ios::binary) << data;
}

std::string TempDir::read(const std::string& name) const {
  std::ifstream in(path / name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<std::string> all_models() {
  std::vector<std::string> names;
  for (const ModelSpec& spec : model_table()) names.emplace_back(spec.name);
  return names;
}

std::vector<std::string> room_for(const std::string& model, size_t connections) {
  std::string n = std::to_string(connections);
  if (model == "prefork" || model == "prethread") return {"--workers", n};
  if (model == "epoll") return {"--workers", "2"};  // loops are not per connection
  return {"--max-children", n, "--max-threads", n};
}

std::vector<std::string> concurrent_models() {
  std::vector<std::string> names = all_models();
  std::erase(names, "iterative");
  return names;
}

std::vector<std::string> one_model_per_io_context() {
  // make soak sets TESTS_EVERY_MODEL=1 (not a SOCKSERV_ variable: the servers inherit it).
  const char* every = std::getenv("TESTS_EVERY_MODEL");
  if (every != nullptr && std::string(every) == "1") return all_models();
  // LoopPollContext, BlockingContext (here in a forked child, as under prefork), FiberContext.
  return {"iterative", "fork", "epoll"};
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<char*> to_argv(const std::string& path, std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

// Waits for `pid` up to `timeout`; returns the raw status or -1.
int wait_bounded(pid_t pid, Millis timeout) {
  int status = 0;
  bool done = eventually(
      [&] {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        return r == pid || (r < 0 && errno != EINTR);
      },
      timeout);
  return done ? status : -1;
}

int exit_code_of(int status) {
  if (status >= 0 && WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

}  // namespace

std::string bin_path(const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;  // a system program such as /usr/bin/setpriv
  const char* dir = std::getenv("SOCKSERV_BIN");
  return std::string(dir != nullptr ? dir : "bin") + "/" + name;
}

ServerProcess::ServerProcess(const std::string& program, std::vector<std::string> args,
                             std::vector<std::string> extra_env) {
  char path_template[] = "/tmp/sockserv-test-log-XXXXXX";
  UniqueFd log_fd(::mkostemp(path_template, O_CLOEXEC));
  if (!log_fd) throw_errno("mkostemp");
  log_path_ = path_template;
  size_t expected = 0;
  for (const std::string& a : args) expected += a == "--listen" ? 1 : 0;
  if (expected == 0) expected = 1;
  std::string path = bin_path(program);
  std::vector<char*> argv = to_argv(path, args);
  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) {
    ::setpgid(0, 0);  // its own group: what it forks is ended with it (kill_tree)
    ::dup2(log_fd.get(), STDERR_FILENO);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    // Tests hold many connections from 127.0.0.1 to small pools: no per-source limit unless
    // the test names one (or removes this with "SOCKSERV_MAX_PER_SOURCE" in extra_env).
    ::setenv("SOCKSERV_MAX_PER_SOURCE", "0", /*overwrite=*/0);
    for (std::string& e : extra_env) {
      if (e.find('=') == std::string::npos) {
        ::unsetenv(e.c_str());
      } else {
        ::putenv(e.data());
      }
    }
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  std::regex listening(R"(listening on (\S+) \()");
  std::regex port_suffix(R"(:(\d+)$)");
  bool ready = eventually(
      [&] {
        std::string text = log();
        ports_.clear();
        for (auto it = std::sregex_iterator(text.begin(), text.end(), listening);
             it != std::sregex_iterator(); ++it) {
          std::smatch port;
          std::string where = (*it)[1];
          bool inet = std::regex_search(where, port, port_suffix) && where.rfind("unix", 0) != 0;
          ports_.push_back(inet ? static_cast<uint16_t>(std::stoi(port[1])) : 0);
        }
        return ports_.size() >= expected || !running();
      },
      10000ms);
  if (!ready || ports_.size() < expected) {
    std::string text = log();
    stop(SIGKILL, 2000ms);
    throw std::runtime_error(program + " did not start: " + text);
  }
}

ServerProcess::~ServerProcess() {
  kill_tree(pid_);
  if (!log_path_.empty()) ::unlink(log_path_.c_str());
}

std::string ServerProcess::address(size_t i) const {
  return "127.0.0.1:" + std::to_string(port(i));
}

std::string ServerProcess::log() const {
  return read_file(log_path_);
}

bool ServerProcess::wait_for_log(const std::string& needle, Millis timeout) const {
  return eventually([&] { return log().find(needle) != std::string::npos; }, timeout);
}

bool process_running(pid_t pid) {
  if (pid <= 0) return false;
  // A zombie still "exists" for kill(0); look at its state instead.
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

bool ServerProcess::running() const {
  return process_running(pid_);
}

int ServerProcess::stop(int signo, Millis timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signo);
  int status = wait_bounded(pid_, timeout);
  if (status < 0) kill_tree(pid_);
  pid_ = -1;
  return exit_code_of(status);
}

RunResult run_unprivileged(const std::string& program, const std::vector<std::string>& args,
                           Millis timeout) {
  if (::geteuid() != 0) return run_program(program, args, "", timeout);
  std::vector<std::string> as_nobody{"--reuid=65534", "--regid=65534", "--clear-groups",
                                     bin_path(program)};
  as_nobody.insert(as_nobody.end(), args.begin(), args.end());
  return run_program("/usr/bin/setpriv", as_nobody, "", timeout);
}

RunResult run_program(const std::string& program, const std::vector<std::string>& args_in,
                      const std::string& input, Millis timeout,
                      std::vector<std::string> extra_env) {
  char out_template[] = "/tmp/sockserv-test-out-XXXXXX";
  char err_template[] = "/tmp/sockserv-test-err-XXXXXX";
  UniqueFd out_fd(::mkostemp(out_template, O_CLOEXEC));
  UniqueFd err_fd(::mkostemp(err_template, O_CLOEXEC));
  Pipe in = make_pipe(false);
  std::vector<std::string> args = args_in;
  std::string path = bin_path(program);
  std::vector<char*> argv = to_argv(path, args);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(in.read_end.get(), STDIN_FILENO);
    ::dup2(out_fd.get(), STDOUT_FILENO);
    ::dup2(err_fd.get(), STDERR_FILENO);
    for (std::string& e : extra_env) ::putenv(e.data());
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  in.read_end.reset();
  try {
    write_all(in.write_end.get(), input, Deadline::after(timeout));
  } catch (const std::exception&) {
    // The program stopped reading early; its exit status tells the rest.
  }
  in.write_end.reset();
  int status = wait_bounded(pid, timeout);
  if (status < 0) kill_tree(pid);
  RunResult result{exit_code_of(status), read_file(out_template), read_file(err_template)};
  ::unlink(out_template);
  ::unlink(err_template);
  return result;
}

SilentListener::SilentListener() : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) < 0 ||
      ::listen(fd.get(), 4) < 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    throw std::runtime_error(std::string("silent listener: ") + std::strerror(errno));
  }
  port = ntohs(address.sin_port);
}

UniqueFd connect_tcp(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    throw_errno("connect 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

UniqueFd udp_socket() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
    throw_errno("bind");
  int size = 1 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

std::string udp_exchange(int socket, uint16_t port, const std::string& payload, Millis timeout) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::sendto(socket, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&address),
               sizeof address) < 0) {
    throw_errno("sendto");
  }
  pollfd entry{socket, POLLIN, 0};
  if (!client_io().wait(std::span(&entry, 1), Deadline::after(timeout))) return "";
  std::string reply(70000, '\0');
  ssize_t n = ::recv(socket, reply.data(), reply.size(), 0);
  if (n < 0) throw_errno("recv");
  reply.resize(static_cast<size_t>(n));
  return reply;
}

std::string read_to_eof(int fd, Millis timeout) {
  set_nonblocking(fd, true);
  Deadline deadline = Deadline::after(timeout);
  std::string data;
  char buffer[65536];
  for (;;) {
    size_t n = read_some(fd, std::as_writable_bytes(std::span(buffer)), deadline);
    if (n == 0) return data;
    data.append(buffer, n);
  }
}

std::string exchange(uint16_t port, const std::string& data, Millis timeout) {
  UniqueFd fd = connect_tcp(port);
  set_nonblocking(fd.get(), true);
  Deadline deadline = Deadline::after(timeout);
  // Write and read at the same time: an echo server sends back while we still send, and
  // with both socket buffers full a write-everything-first client would deadlock.
  std::string reply;
  size_t sent = 0;
  bool write_open = true;
  char buffer[65536];
  for (;;) {
    pollfd fds[1] = {{fd.get(), static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0}};
    if (!client_io().wait(fds, deadline)) throw TimeoutError("exchange: timed out");
    if (write_open && (fds[0].revents & POLLOUT)) {
      ssize_t n = ::send(fd.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) throw_errno("send");
      if (sent == data.size()) {
        ::shutdown(fd.get(), SHUT_WR);
        write_open = false;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
      if (n == 0) return reply;
      if (n > 0) reply.append(buffer, static_cast<size_t>(n));
      if (n < 0 && errno != EAGAIN && errno != EINTR) throw_errno("recv");
    }
  }
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::string stat = read_file(std::string("/proc/") + entry->d_name + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    char state;
    pid_t ppid;
    fields >> state >> ppid;
    if (ppid == pid) children.push_back(std::atoi(entry->d_name));
  }
  ::closedir(proc);
  return children;
}

namespace {

struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
};

ProcStat proc_stat(const std::string& pid) {
  std::string stat = read_file("/proc/" + pid + "/stat");
  ProcStat result;
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return result;
  std::istringstream fields(stat.substr(close + 2));
  fields >> result.state >> result.ppid;
  return result;
}

// Every process's parent, in one pass over /proc.
std::vector<std::pair<pid_t, pid_t>> parents() {
  std::vector<std::pair<pid_t, pid_t>> result;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return result;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    ProcStat stat = proc_stat(entry->d_name);
    if (stat.ppid > 0) result.emplace_back(std::atoi(entry->d_name), stat.ppid);
  }
  ::closedir(proc);
  return result;
}

// Reaps `pid` if it is our child and has exited (or exits within `timeout`).
void reap_if_ours(pid_t pid, Millis timeout) {
  eventually(
      [&] {
        pid_t r = ::waitpid(pid, nullptr, WNOHANG);
        return r == pid || (r < 0 && errno == ECHILD);
      },
      timeout);
}

}  // namespace

std::vector<pid_t> descendants_of(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> all = parents();
  std::vector<pid_t> found;
  std::vector<pid_t> frontier{root};
  // Bounded: a pid appears once per pass over /proc, and each is expanded once.
  while (!frontier.empty() && found.size() < all.size()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    for (const auto& [pid, ppid] : all) {
      if (ppid == parent && std::find(found.begin(), found.end(), pid) == found.end()) {
        found.push_back(pid);
        frontier.push_back(pid);
      }
    }
  }
  return found;
}

void kill_tree(pid_t root) {
  if (root <= 0) return;
  // Stopped processes cannot fork: stop the tree until a look at /proc finds nothing new.
  std::vector<pid_t> tree{root};
  for (int round = 0; round < 10; ++round) {
    for (pid_t pid : tree) ::kill(pid, SIGSTOP);
    std::vector<pid_t> now = descendants_of(root);
    now.insert(now.begin(), root);
    bool grew = now.size() > tree.size();
    for (pid_t pid : now)
      if (std::find(tree.begin(), tree.end(), pid) == tree.end()) tree.push_back(pid);
    if (!grew) break;
  }
  ::kill(-root, SIGKILL);  // the group, when the root leads one
  for (pid_t pid : tree) ::kill(pid, SIGKILL);
  // The root is our child; the rest come back to us as orphans (we are a subreaper), or to a
  // member of the tree that is dying too. Each is reaped as soon as it is ours.
  for (pid_t pid : tree) reap_if_ours(pid, 5000ms);
}

std::vector<pid_t> leftover_processes() {
  std::vector<pid_t> running;
  for (pid_t child : children_of(::getpid())) {
    if (proc_stat(std::to_string(child)).state == 'Z') {
      ::waitpid(child, nullptr, WNOHANG);
    } else {
      running.push_back(child);
    }
  }
  return running;
}

std::string describe_processes(const std::vector<pid_t>& pids) {
  std::string text;
  for (pid_t pid : pids) {
    std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    while (!cmdline.empty() && cmdline.back() == ' ') cmdline.pop_back();
    text += (text.empty() ? "" : ", ") + std::to_string(pid) + " (" + cmdline.substr(0, 120) + ")";
  }
  return text;
}

size_t zombie_children(pid_t pid) {
  size_t zombies = 0;
  for (pid_t child : children_of(pid)) {
    std::string stat = read_file("/proc/" + std::to_string(child) + "/stat");
    size_t close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') ++zombies;
  }
  return zombies;
}

size_t thread_count(pid_t pid) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoul(line.substr(8));
  }
  return 0;
}

size_t fd_count(pid_t pid) {
  size_t count = 0;
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return 0;
  while (dirent* entry = ::readdir(dir)) count += entry->d_name[0] != '.' ? 1 : 0;
  ::closedir(dir);
  return count;
}

size_t socket_count(pid_t pid) {
  std::string dir_path = "/proc/" + std::to_string(pid) + "/fd";
  size_t count = 0;
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr) return 0;
  while (dirent* entry = ::readdir(dir)) {
    char target[64] = {};
    std::string link = dir_path + "/" + entry->d_name;
    if (::readlink(link.c_str(), target, sizeof target - 1) > 0 &&
        std::string_view(target).starts_with("socket:"))
      ++count;
  }
  ::closedir(dir);
  return count;
}

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string data(size, '\0');
  for (char& c : data) c = static_cast<char>(generator() & 0xff);
  return data;
}

}  // namespace sockserv::test
