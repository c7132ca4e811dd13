// The activation tests' helpers: service table, ports, RFC probes, background peers.
#include "peers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "error.hpp"

namespace sockserv::test {
namespace {

bool is_executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

uint32_t big_endian_u32(const std::string& bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

// 2020-01-01 in RFC 868's seconds since 1900: a time server must say later than this.
constexpr uint32_t kYear2020Since1900 = 3786825600U;

bool line_with_crlf(const std::string& reply) {
  return reply.size() > 2 && reply.compare(reply.size() - 2, 2, "\r\n") == 0;
}

}  // namespace

std::string source_dir() {
  const char* dir = std::getenv("SOCKSERV_SOURCE");
  return dir != nullptr ? dir : ".";
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> split_words(const std::string& line, const char* blanks) {
  std::vector<std::string> words;
  size_t at = 0;
  while ((at = line.find_first_not_of(blanks, at)) != std::string::npos) {
    size_t end = line.find_first_of(blanks, at);
    words.push_back(line.substr(at, end - at));
    at = end;
  }
  return words;
}

std::vector<ServiceRow> built_services() {
  std::vector<ServiceRow> rows;
  std::istringstream table(file_text(source_dir() + "/scripts/services.tsv"));
  std::string line;
  while (std::getline(table, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = split_words(line, "\t");
    if (f.size() < 6) continue;
    ServiceRow row{f[0], f[1], f[3] == "yes", f[4] == "yes", f[5]};
    if (is_executable(bin_path(row.name))) rows.push_back(row);
  }
  return rows;
}

std::map<std::string, std::vector<std::string>> unit_keys(const std::string& path) {
  std::map<std::string, std::vector<std::string>> keys;
  std::istringstream unit(file_text(path));
  std::string line;
  while (std::getline(unit, line)) {
    size_t equals = line.find('=');
    if (line.empty() || line[0] == '#' || line[0] == '[' || equals == std::string::npos) continue;
    keys[line.substr(0, equals)].push_back(line.substr(equals + 1));
  }
  return keys;
}

std::vector<uint16_t> free_ports(size_t count) {
  // Every socket stays bound until all ports are found: the kernel then cannot hand the same
  // port out twice (two services of one inetd.conf on one port would take each other's).
  std::vector<UniqueFd> held;
  std::vector<uint16_t> ports;
  for (int attempt = 0; attempt < 50 + static_cast<int>(count) && ports.size() < count; ++attempt) {
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(tcp.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
      throw_errno("bind");
    if (::getsockname(tcp.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0)
      throw_errno("getsockname");
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
      ports.push_back(ntohs(address.sin_port));
    held.push_back(std::move(tcp));
    held.push_back(std::move(udp));
  }
  if (ports.size() < count) throw std::runtime_error("no free ports for tcp and udp");
  return ports;
}

uint16_t free_port() {
  return free_ports(1).front();
}

bool probe_tcp(const std::string& probe, uint16_t port, std::string& why) {
  try {
    if (probe == "echo") {
      std::string reply = exchange(port, "hello sockserv\r\n", 10000ms);
      why = "echo reply '" + reply + "'";
      return reply == "hello sockserv\r\n";
    }
    if (probe == "discard") {
      std::string reply = exchange(port, "into the void\r\n", 10000ms);
      why = "discard reply '" + reply + "'";
      return reply.empty();
    }
    if (probe == "daytime" || probe == "time") {
      std::string reply = exchange(port, "", 10000ms);
      why = probe + " reply of " + std::to_string(reply.size()) + " bytes";
      return probe == "daytime" ? line_with_crlf(reply)
                                : reply.size() == 4 && big_endian_u32(reply) > kYear2020Since1900;
    }
    if (probe == "http") {
      // The shipped units serve the hello page (no --root); HTTP/1.0 closes after the answer.
      std::string reply = exchange(port, "GET / HTTP/1.0\r\n\r\n", 10000ms);
      why = "http reply '" + reply.substr(0, 200) + "'";
      return reply.starts_with("HTTP/1.1 200 OK\r\n") &&
             reply.find("Hello World") != std::string::npos;
    }
    std::string address = "127.0.0.1:" + std::to_string(port);
    if (probe == "file") {
      // The shipped units serve /srv, present (maybe empty) on every Debian machine.
      RunResult r = run_program("file-client", {address, "list"}, "", 20000ms);
      why = "file-client list: exit " + std::to_string(r.exit_code) + " " + r.err;
      return r.exit_code == 0;
    }
    if (probe == "cmd") {
      RunResult r = run_program("cmd-client", {address, "--", "uname"}, "", 20000ms);
      why =
          "cmd-client -- uname: exit " + std::to_string(r.exit_code) + " '" + r.out + "' " + r.err;
      return r.exit_code == 0 && r.out == "Linux\n";
    }
    UniqueFd fd = connect_tcp(port);
    if (probe == "chat") {
      // The room greets every member with a line on arrival.
      set_nonblocking(fd.get(), true);
      Deadline deadline = Deadline::after(10000ms);
      std::string text;
      char buffer[512];
      while (text.find('\n') == std::string::npos) {
        size_t n =
            read_some(fd.get(), std::as_writable_bytes(std::span(buffer)), deadline, client_io());
        if (n == 0) break;
        text.append(buffer, n);
      }
      why = "chat greeting '" + text + "'";
      return text.find('\n') != std::string::npos;
    }
    if (probe == "chargen") {
      // RFC 864: lines of 72 printable characters and CRLF, for as long as we listen.
      std::string text;
      set_nonblocking(fd.get(), true);
      Deadline deadline = Deadline::after(10000ms);
      char buffer[512];
      while (text.size() < 74) {
        size_t n =
            read_some(fd.get(), std::as_writable_bytes(std::span(buffer)), deadline, client_io());
        if (n == 0) break;
        text.append(buffer, n);
      }
      why = "chargen sent " + std::to_string(text.size()) + " bytes";
      return text.size() >= 74 && text.compare(72, 2, "\r\n") == 0;
    }
    why = "unknown probe '" + probe + "' in scripts/services.tsv";
    return false;
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

bool probe_udp(const std::string& probe, uint16_t port, std::string& why) {
  try {
    UniqueFd socket = udp_socket();
    std::string reply =
        udp_exchange(socket.get(), port, "hello sockserv", probe == "discard" ? 1000ms : 5000ms);
    why = probe + " udp reply of " + std::to_string(reply.size()) + " bytes";
    if (probe == "echo") return reply == "hello sockserv";
    if (probe == "discard") return reply.empty();
    if (probe == "daytime") return line_with_crlf(reply);
    if (probe == "time") return reply.size() == 4 && big_endian_u32(reply) > kYear2020Since1900;
    return !reply.empty();
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

Spawned::Spawned(std::vector<std::string> argv, std::vector<std::string> env, int stdin_fd,
                 bool on_all_three) {
  char path_template[] = "/tmp/sockserv-peer-log-XXXXXX";
  UniqueFd log_fd(::mkostemp(path_template, O_CLOEXEC));
  if (!log_fd) throw_errno("mkostemp");
  // Readable by everyone: the servers inetd starts as "nobody" must not fail on it.
  ::fchmod(log_fd.get(), 0644);
  log_path_ = path_template;
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(stdin_fd >= 0 ? stdin_fd : null, STDIN_FILENO);
    ::dup2(on_all_three ? stdin_fd : log_fd.get(), STDOUT_FILENO);
    ::dup2(on_all_three ? stdin_fd : log_fd.get(), STDERR_FILENO);
    for (std::string& e : env) ::putenv(e.data());
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
}

Spawned::~Spawned() {
  // The whole tree: inetd's and systemd-socket-activate's children end with them, even
  // those that left the group (inetd's servers call setsid).
  kill_tree(pid_);
  if (!log_path_.empty()) ::unlink(log_path_.c_str());
}

bool Spawned::wait_for_log(const std::string& needle, Millis timeout) const {
  return eventually([&] { return log().find(needle) != std::string::npos; }, timeout);
}

bool Spawned::running() const {
  return process_running(pid_);
}

int Spawned::wait_exit(Millis timeout) {
  if (pid_ <= 0) return -1;
  int status = 0;
  bool done = eventually(
      [&] {
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        return r == pid_ || (r < 0 && errno != EINTR);
      },
      timeout);
  if (!done) {
    kill_tree(pid_);
    status = -1;
  }
  pid_ = -1;
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace sockserv::test
