#!/usr/bin/python3
"""Reads one received message (an .eml file) with Python's email package
(policy=email.policy.default, as a mail reader would) and prints what it found as JSON, for
mail-client's tests to compare with what they sent:

  {"subject", "from": [display_name, address], "to": [[name, address]...], "cc", "date",
   "message_id", "mime_version", "content_type", "body" (text, line ends as sent),
   "attachments": [{"filename", "content_type", "hex"}], "longest_header_line",
   "defects": [...]}

  mail_parse.py FILE.eml
"""
import email
import email.policy
import json
import sys


def longest_header_line(raw, message):
    """The longest line in any header block: the message's and each part's."""
    delimiters = {b"--" + part.get_boundary().encode() for part in message.walk()
                  if part.get_boundary()}
    longest, in_headers = 0, True
    for line in raw.split(b"\r\n"):
        if in_headers and line == b"":
            in_headers = False
        elif in_headers:
            longest = max(longest, len(line))
        elif line in delimiters:
            in_headers = True
    return longest


def main():
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    headers_end = raw.find(b"\r\n\r\n")
    defects = [type(d).__name__ for part in message.walk() for d in part.defects]
    body_part = message.get_body(preferencelist=("plain",))
    result = {
        "subject": str(message["Subject"]),
        "from": [[a.display_name, a.addr_spec] for a in message["From"].addresses],
        "to": [[a.display_name, a.addr_spec] for a in message["To"].addresses],
        "cc": [[a.display_name, a.addr_spec] for a in message["Cc"].addresses]
              if message["Cc"] else [],
        "bcc_header": message["Bcc"] is not None,
        "date": str(message["Date"]),
        "date_parsed": message["Date"].datetime is not None,
        "message_id": str(message["Message-ID"]),
        "mime_version": str(message["MIME-Version"]),
        "content_type": message.get_content_type(),
        "body": body_part.get_content() if body_part is not None else None,
        "body_charset": body_part.get_content_charset() if body_part is not None else None,
        "attachments": [{"filename": part.get_filename(),
                         "content_type": part.get_content_type(),
                         "hex": part.get_payload(decode=True).hex()}
                        for part in message.iter_attachments()],
        "longest_header_line": max(len(line) for line in raw[:headers_end].split(b"\r\n")),
        "longest_part_header_line": longest_header_line(raw, message),
        "bare_lf": raw.replace(b"\r\n", b"").count(b"\n"),
        "defects": defects,
    }
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
