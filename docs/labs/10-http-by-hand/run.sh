#!/usr/bin/env bash
# Lab 10: HTTP by hand. A GET typed into nc against http-server (kept alive for a second
# request, closed after 5 s of silence); the tutorial's hello server, whose body ends at the
# close; a chunked answer; the tutorial's one-recv browser against a 100 kB file, then
# http-client reading by Content-Length; Accept-Encoding with --gzip.
source "$(dirname "$0")/../lib.sh"
lab_need nc curl gzip perl "$LAB_PYTHON"

# get PORT PATH OUT [HEADER...]: a GET typed by hand (printf into nc), the answer kept in OUT.
get() {
  local port=$1 path=$2 out=$3 h
  shift 3
  local request="GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
  for h in "$@"; do request+="$h\r\n"; done
  request+="Connection: close\r\n\r\n"
  printf '$ printf %q | nc -w 5 127.0.0.1 %s\n' "$request" "$port"
  printf %b "$request" | nc -w 5 127.0.0.1 "$port" >"$out"
  tr -d '\r' <"$out" | head -c 600 | sed 's/^/  < /'
  echo
}
head_end() {  # byte offset where the body of the answer in $1 starts: after the empty line
  perl -0777 -ne 'my $at = index($_, "\r\n\r\n"); print $at < 0 ? -s $ARGV : $at + 4' "$1"
}
# run_to FILE COMMAND...: shows the command as typed, its output kept in FILE.
run_to() {
  local out=$1
  shift
  printf '$ %s\n' "$*"
  "$@" >"$out"
}
body_bytes() { echo $(($(stat -c %s "$1") - $(head_end "$1"))); }
header() {  # header FILE NAME: the value of the header NAME (case-insensitive), CR removed
  head -c "$(head_end "$1")" "$1" | tr -d '\r' | sed -n "s/^$2: *//Ip" | head -n 1
}

say "1. A GET typed into nc, against http-server (its hello page)"
lab_start HTTP http-server --model thread
get "$HTTP" / "$LAB_TMP/hello-ours.txt"
expect_output '^HTTP/1\.1 200 OK' "$LAB_TMP/hello-ours.txt" "the status line says 200 OK"
length=$(header "$LAB_TMP/hello-ours.txt" Content-Length)
echo "  Content-Length: $length; body bytes after the empty line: $(body_bytes "$LAB_TMP/hello-ours.txt")"
expect "the body is exactly Content-Length bytes: that is where it ends" \
  test "$length" = "$(body_bytes "$LAB_TMP/hello-ours.txt")"
expect "asked for Connection: close, the answer says Connection: close" \
  test "$(header "$LAB_TMP/hello-ours.txt" Connection)" = close

# As typed into nc: bare LF line ends, the request twice on one connection, then silence.
echo "\$ nc 127.0.0.1 $HTTP   (the request typed twice, LF line ends; then nothing)"
started=$(date +%s%N)
{ printf 'GET / HTTP/1.1\nHost: 127.0.0.1\n\n'; sleep 0.5; printf 'GET / HTTP/1.1\nHost: 127.0.0.1\n\n'; } |
  timeout 10 nc 127.0.0.1 "$HTTP" >"$LAB_TMP/keepalive.txt"
waited=$((($(date +%s%N) - started) / 1000000))
answers=$(grep -c '^HTTP/1\.1 200 OK' "$LAB_TMP/keepalive.txt")
echo "  $answers answers on one connection; the server closed it $waited ms after it opened"
expect "two requests typed with bare LFs, two answers on the same connection (keep-alive)" \
  test "$answers" = 2
expect "after about 5 s of silence (--keepalive-timeout) the server closes the connection" \
  test "$waited" -ge 4500 -a "$waited" -lt 9000

say "2. The tutorial's hello server: no Content-Length, the body ends at the close"
lab_start HELLO "$LAB_DIR/hello.py"
get "$HELLO" / "$LAB_TMP/hello-tutorial.txt"
expect "no Content-Length, no Transfer-Encoding in its answer" \
  test -z "$(header "$LAB_TMP/hello-tutorial.txt" Content-Length)$(header "$LAB_TMP/hello-tutorial.txt" Transfer-Encoding)"
run_to "$LAB_TMP/hello-client.txt" http-client "http://127.0.0.1:$HELLO/"
cat "$LAB_TMP/hello-client.txt"; echo
expect_output '^<h1>Hello World!</h1>$' "$LAB_TMP/hello-client.txt" \
  "http-client reads the body until the server closes, and gets it whole"

say "3. A chunked answer: the body in pieces, each with its size, and a last one of size 0"
lab_start CHUNKED "$LAB_DIR/chunked.py"
get "$CHUNKED" / "$LAB_TMP/chunked-raw.txt"
expect "Transfer-Encoding: chunked, and no Content-Length" \
  test "$(header "$LAB_TMP/chunked-raw.txt" Transfer-Encoding)/$(header "$LAB_TMP/chunked-raw.txt" Content-Length)" = chunked/
expect_output $'^19\r$' "$LAB_TMP/chunked-raw.txt" "on the wire: each chunk's size in hex (0x19 = 25 bytes)"
expect_output $'^0\r$' "$LAB_TMP/chunked-raw.txt" "and a chunk of size 0 that ends the body"
run_to "$LAB_TMP/chunked-client.txt" http-client "http://127.0.0.1:$CHUNKED/"
cat "$LAB_TMP/chunked-client.txt"
expect "http-client joins the chunks: three lines, no sizes left" \
  test "$(cat "$LAB_TMP/chunked-client.txt")" = $'first part of the answer\na second, produced later\nand the end'

say "4. The tutorial's browser: one recv(4096), against a 100 kB file"
mkdir -p "$LAB_TMP/www"
head -c 100000 /dev/zero | tr '\0' 'a' | fold -w 99 >"$LAB_TMP/www/big.txt"
lab_start FILES http-server --model thread --root "$LAB_TMP/www" --gzip
show "$LAB_PYTHON" "$LAB_DIR/ua.py" 127.0.0.1 "$FILES" /big.txt | tee "$LAB_TMP/ua.txt"
expect_output '^Content-Length: 10[0-9]{4}; body bytes received: [0-9]{1,4}$' "$LAB_TMP/ua.txt" \
  "one recv gets at most 4096 bytes of a 100 kB body: the rest is never read"
show http-client -o "$LAB_TMP/big.copy" "http://127.0.0.1:$FILES/big.txt"
expect "http-client reads exactly Content-Length bytes: the copy is the file, byte for byte" \
  cmp -s "$LAB_TMP/www/big.txt" "$LAB_TMP/big.copy"

say "5. Accept-Encoding: the browser says it can read gzip; http-server --gzip uses it"
show curl -s -D "$LAB_TMP/plain.head" -o "$LAB_TMP/plain.body" "http://127.0.0.1:$FILES/big.txt"
show curl -s -D "$LAB_TMP/gzip.head" -o "$LAB_TMP/gzip.body" -H 'Accept-Encoding: gzip' \
  "http://127.0.0.1:$FILES/big.txt"
for f in plain gzip; do
  echo "  $f: $(tr -d '\r' <"$LAB_TMP/$f.head" | grep -iE '^(content-length|content-encoding|vary):' | xargs)"
done
expect_output '^[Cc]ontent-[Ee]ncoding: gzip' "$LAB_TMP/gzip.head" \
  "asked for gzip: Content-Encoding: gzip"
expect_no_output '^[Cc]ontent-[Ee]ncoding' "$LAB_TMP/plain.head" "not asked: no Content-Encoding"
expect_output '^[Vv]ary: Accept-Encoding' "$LAB_TMP/plain.head" \
  "both carry Vary: Accept-Encoding (a cache must keep one copy per encoding)"
expect "the gzip body is much smaller, and unzips to the very file" \
  sh -c "[ $(stat -c %s "$LAB_TMP/gzip.body") -lt 10000 ] && gzip -dc '$LAB_TMP/gzip.body' | cmp -s - '$LAB_TMP/www/big.txt'"

lab_end
