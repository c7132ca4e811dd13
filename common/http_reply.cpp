// HTTP response heads, error pages and dates.
#include "http_reply.hpp"

#include <cstdio>
#include <cstring>

namespace sockserv {
namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_number(std::string_view name) {
  for (int i = 0; i < 12; ++i) {
    if (name == kMonths[i]) return i;
  }
  return -1;
}

// Fills `parts` from "DD Mon YYYY HH:MM:SS" style fields already split out.
std::optional<std::time_t> to_time(int day, std::string_view month, int year, int hour, int minute,
                                   int second) {
  int mon = month_number(month);
  if (mon < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || year < 1970)
    return std::nullopt;
  tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = mon;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return ::timegm(&parts);
}

}  // namespace

// Out of line: inlined into its callers, GCC 12 warns falsely about the moved strings
// (-Warray-bounds inside std::string's copy, GCC bug 105329).
void HttpResponse::add(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
}

std::string_view http_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

std::string format_response_head(const HttpResponse& response, std::time_t now) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " ";
  head += http_reason(response.status);
  head += "\r\nDate: " + http_date(now) + "\r\nServer: sockserv-http\r\n";
  if (!response.content_type.empty()) head += "Content-Type: " + response.content_type + "\r\n";
  if (response.content_length)
    head += "Content-Length: " + std::to_string(*response.content_length) + "\r\n";
  for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
  if (response.close) {
    head += "Connection: close\r\n";
  } else if (response.keep_alive_1_0) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

std::string error_page(int status) {
  // Only the status and its fixed reason: no part of the request (its path, a header)
  // appears, so no client can put markup or script into a page this server answers with.
  std::string title = std::to_string(status) + " " + std::string(http_reason(status));
  return "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head><body><h1>" + title +
         "</h1></body></html>\n";
}

HttpReply error_reply(int status) {
  HttpReply reply;
  reply.response.status = status;
  reply.body = error_page(status);
  reply.response.content_type = "text/html; charset=utf-8";
  reply.response.content_length = reply.body.size();
  return reply;
}

std::string http_date(std::time_t when) {
  tm parts{};
  ::gmtime_r(&when, &parts);
  char text[64];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[parts.tm_wday % 7],
                parts.tm_mday, kMonths[parts.tm_mon % 12], parts.tm_year + 1900, parts.tm_hour,
                parts.tm_min, parts.tm_sec);
  return text;
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
  if (text.size() > 64) return std::nullopt;
  std::string copy(text);  // sscanf needs a terminated string
  char weekday[16] = {}, month[4] = {}, zone[4] = {};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, used = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (std::sscanf(copy.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", weekday, &day, month, &year,
                  &hour, &minute, &second, zone, &used) == 8 &&
      static_cast<size_t>(used) == copy.size() && std::strcmp(zone, "GMT") == 0)
    return to_time(day, month, year, hour, minute, second);
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit years: RFC 9110 says the past 50
  // years; every such date is before 2000 or within this century's first half)
  if (std::sscanf(copy.c_str(), "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", weekday, &day, month,
                  &year, &hour, &minute, &second, zone, &used) == 8 &&
      static_cast<size_t>(used) == copy.size() && std::strcmp(zone, "GMT") == 0)
    return to_time(day, month, year + (year < 70 ? 2000 : 1900), hour, minute, second);
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (std::sscanf(copy.c_str(), "%3s %3s %2d %2d:%2d:%2d %4d%n", weekday, month, &day, &hour,
                  &minute, &second, &year, &used) == 7 &&
      static_cast<size_t>(used) == copy.size())
    return to_time(day, month, year, hour, minute, second);
  return std::nullopt;
}

}  // namespace sockserv
