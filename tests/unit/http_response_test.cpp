// The response-head parser and the chunked decoder of http-client, fed bytes directly.
#include "http_response.hpp"

#include <boost/test/unit_test.hpp>

#include "http_chunked.hpp"

using namespace sockserv;

namespace {

ResponseHead parse(std::string_view text) {
  std::optional<size_t> end = find_head_end(text);
  BOOST_TEST_REQUIRE(end.has_value(), "no end in " << text);
  return parse_response_head(text.substr(0, *end));
}

// Decodes `wire` fed `step` bytes at a time; the body, and whether the decoder finished.
std::pair<std::string, bool> decode(std::string_view wire, size_t step,
                                    ChunkedDecoder* out = nullptr) {
  ChunkedDecoder local;
  ChunkedDecoder& decoder = out != nullptr ? *out : local;
  std::string body;
  for (size_t i = 0; i < wire.size() && !decoder.done(); i += step)
    decoder.feed(wire.substr(i, step), [&](std::string_view piece) { body += piece; });
  return {body, decoder.done()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_response)

BOOST_AUTO_TEST_CASE(a_head_parses_into_status_reason_and_fields) {
  ResponseHead head =
      parse("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-A:  spaced  \r\nx-a: two\r\n\r\nabc");
  BOOST_TEST(head.minor_version == 1);
  BOOST_TEST(head.status == 404);
  BOOST_TEST(head.reason == "Not Found");
  BOOST_TEST(head.fields.size() == 3u);
  BOOST_TEST(*head.find("content-length") == "3");
  BOOST_TEST(*head.find("X-A") == "spaced");
  BOOST_TEST(head.find("Location") == nullptr);
  // Lone LF line ends, a missing reason, an obs-fold continuation.
  head = parse("HTTP/1.0 200\nA: b\n  c\n\n");
  BOOST_TEST(head.minor_version == 0);
  BOOST_TEST(head.reason == "");
  BOOST_TEST(*head.find("A") == "b c");
}

BOOST_AUTO_TEST_CASE(the_head_end_is_found_across_pieces_and_bounded) {
  std::string head = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
  for (size_t cut = 0; cut < head.size(); ++cut) {
    std::optional<size_t> first = find_head_end(std::string_view(head).substr(0, cut));
    std::optional<size_t> whole = find_head_end(head, first ? 0 : cut);
    BOOST_TEST((first ? *first : *whole) == head.size() - 4, "cut at " << cut);
  }
  std::string endless = "HTTP/1.1 200 OK\r\nX: " + std::string(kMaxResponseHead, 'a');
  BOOST_CHECK_THROW(find_head_end(endless), HttpResponseError);
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (size_t i = 0; i <= kMaxResponseFields; ++i) many += "X: 1\r\n";
  BOOST_CHECK_THROW(parse(many + "\r\n"), HttpResponseError);
}

BOOST_AUTO_TEST_CASE(malformed_heads_are_refused) {
  for (const char* bad :
       {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 x\r\n\r\n", "HTTP/1.1 600 x\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nName : value\r\n\r\n", "HTTP/1.1 200 OK\r\n: value\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "HTTP/1.1 200 OK\r\nA: \x1b[2J\r\n\r\n",
        "HTTP/1.1 200 OK\r\n continuation first\r\n\r\n"}) {
    BOOST_CHECK_THROW(parse(bad), HttpResponseError);
  }
}

BOOST_AUTO_TEST_CASE(body_framing_follows_rfc_9112_section_6_3) {
  using Kind = BodyFraming::Kind;
  auto framing = [](std::string_view fields, int status = 200, bool head_request = false) {
    return body_framing(
        parse("HTTP/1.1 " + std::to_string(status) + " X\r\n" + std::string(fields) + "\r\n"),
        head_request);
  };
  BOOST_TEST((framing("Content-Length: 10\r\n").kind == Kind::length));
  BOOST_TEST(framing("Content-Length: 10\r\n").length == 10u);
  BOOST_TEST(framing("Content-Length: 18446744073709551615\r\n").length == UINT64_MAX);
  BOOST_TEST(framing("Content-Length: 7, 7\r\nContent-Length: 7\r\n").length == 7u);
  BOOST_TEST((framing("").kind == Kind::until_close));
  BOOST_TEST((framing("Transfer-Encoding: chunked\r\n").kind == Kind::chunked));
  BOOST_TEST(
      (framing("Transfer-Encoding: Chunked\r\nContent-Length: 5\r\n").kind == Kind::chunked));
  BOOST_TEST((framing("Content-Length: 10\r\n", 200, true).kind == Kind::none));
  for (int status : {101, 204, 304})
    BOOST_TEST((framing("Content-Length: 10\r\n", status).kind == Kind::none));
  for (const char* bad :
       {"Content-Length: -1\r\n", "Content-Length: 1x\r\n", "Content-Length: +5\r\n",
        "Content-Length: 18446744073709551616\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5, 6\r\n", "Content-Length:\r\n", "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked, chunked\r\n", "Transfer-Encoding: \r\n"})
    BOOST_CHECK_THROW(framing(bad), HttpResponseError);
}

BOOST_AUTO_TEST_CASE(chunked_bodies_decode_in_any_pieces_with_trailers) {
  std::string wire =
      "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Digest: abc\r\nX-B: 1\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, wire.size()}) {
    ChunkedDecoder decoder;
    auto [body, done] = decode(wire, step, &decoder);
    BOOST_TEST(done, "step " << step);
    BOOST_TEST(body == "hello 0123456789", "step " << step);
    BOOST_TEST(decoder.body_bytes() == 16u);
    BOOST_TEST_REQUIRE(decoder.trailers().size() == 2u);
    BOOST_TEST(decoder.trailers()[0].value == "abc");
  }
  // LF alone ends lines too; what follows the end is not consumed.
  ChunkedDecoder decoder;
  std::string body;
  size_t used = decoder.feed("3\nabc\n0\n\nNEXT", [&](std::string_view p) { body += p; });
  BOOST_TEST(decoder.done());
  BOOST_TEST(body == "abc");
  BOOST_TEST(used == 9u);
  // Incomplete: not done.
  BOOST_TEST(!decode("5\r\nhel", 1).second);
  BOOST_TEST(!decode("0\r\nX: 1\r\n", 1).second);
}

BOOST_AUTO_TEST_CASE(broken_or_oversized_chunked_coding_is_refused) {
  for (const std::string& bad :
       {std::string("x\r\n"), std::string("\r\n"), std::string(" 5\r\nhello\r\n"),
        std::string("5 x\r\nhello\r\n"), std::string("3\r\nabcdef\r\n"), std::string("3\r\nabc\rX"),
        std::string("10000000000000000\r\n"), std::string("fffffffffffffffff\r\n"),
        std::string("5;\x1b\r\nhello\r\n"),
        std::string("1" + std::string(kMaxChunkLine, '0') + "\r\n"),
        std::string("0\r\nBad Name: x\r\n\r\n"), "0\r\n" + std::string(kMaxChunkLine + 1, 'a'),
        "0\r\n" + [] {
          std::string many;
          for (int i = 0; i < 40; ++i) many += "X: " + std::string(2000, 'a') + "\r\n";
          return many;
        }()}) {
    BOOST_CHECK_THROW(decode(bad, 3), HttpResponseError);
  }
  // The largest size 16 hex digits can say is accepted (and waits for its data).
  BOOST_TEST(!decode("ffffffffffffffff\r\nabc", 4).second);
}

BOOST_AUTO_TEST_SUITE_END()
