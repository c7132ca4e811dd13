#!/usr/bin/python3
"""A real SMTP server for mail-client's tests: aiosmtpd (Debian: python3-aiosmtpd) on
127.0.0.1, port 0. Prints "port N" once it listens, then writes each message it receives
as OUTDIR/N.eml (the bytes after DATA, dot-stuffing undone) and OUTDIR/N.json (the
envelope: mail_from, rcpt_tos, the user that logged in), the .json last and by rename, so
a reader that sees it sees both whole.

  smtp_sink.py OUTDIR [--auth USER:PASSWORD] [--reject-rcpt ADDR] [--defer-rcpt ADDR] [--size-limit N]
               [--no-ehlo] [--starttls CERT KEY | --smtps CERT KEY] [--client-ca FILE]
               [--log-commands]

--auth offers AUTH PLAIN and LOGIN and requires it (without TLS: loopback tests only);
--reject-rcpt answers RCPT TO:<ADDR> with 550, --defer-rcpt with 451; --no-ehlo answers EHLO with 502 (an
RFC 821 server) so that the client must fall back to HELO; --size-limit offers SIZE N.
--starttls offers STARTTLS (RFC 3207) with CERT and KEY and requires it before anything else
(and, with --auth, AUTH only over TLS); --smtps speaks TLS from the first byte (RFC 8314).
--client-ca requires a client certificate signed by FILE's CA (mutual TLS). --log-commands
prints each command line received on stderr (aiosmtpd's own log; AUTH arguments hidden).
"""
import argparse
import asyncio
import json
import logging
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, syntax


class Sink:
    def __init__(self, outdir, reject_rcpt, defer_rcpt):
        self.outdir = outdir
        self.reject_rcpt = reject_rcpt
        self.defer_rcpt = defer_rcpt
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.reject_rcpt:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address == self.defer_rcpt:
            return "451 4.3.0 <%s>: Temporary lookup failure" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.outdir, str(self.count))
        with open(base + ".eml", "wb") as eml:
            eml.write(envelope.original_content)
        login = session.auth_data.login.decode() if session.authenticated else None
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "mail_options": envelope.mail_options, "login": login}
        with open(base + ".tmp", "w") as tmp:
            json.dump(meta, tmp)
        os.rename(base + ".tmp", base + ".json")
        return "250 OK: queued as %d" % self.count


class OldSMTP(SMTP):
    """A server that knows only HELO (RFC 821)."""

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname):
        await self.push("502 5.5.2 Error: command not recognized")


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        # handled=False: aiosmtpd answers a failure itself (535); the default, True, would
        # leave the client without an answer.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticate


def tls_context(cert_and_key, client_ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(*cert_and_key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


async def serve(args):
    os.makedirs(args.outdir, exist_ok=True)
    handler = Sink(args.outdir, args.reject_rcpt, args.defer_rcpt)
    factory_class = OldSMTP if args.no_ehlo else SMTP
    options = {"data_size_limit": args.size_limit}
    if args.auth:
        user, _, password = args.auth.partition(":")
        options.update({"authenticator": authenticator_for(user, password),
                        "auth_required": True, "auth_require_tls": bool(args.starttls)})
    if args.starttls:
        options.update({"tls_context": tls_context(args.starttls, args.client_ca),
                        "require_starttls": True})
    server_ssl = tls_context(args.smtps, args.client_ca) if args.smtps else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: factory_class(handler, **options),
                                      host="127.0.0.1", port=0, ssl=server_ssl)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--auth", help="USER:PASSWORD")
    parser.add_argument("--reject-rcpt")
    parser.add_argument("--defer-rcpt")
    parser.add_argument("--size-limit", type=int, default=33554432)
    parser.add_argument("--no-ehlo", action="store_true")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    tls.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--client-ca")
    parser.add_argument("--log-commands", action="store_true")
    args = parser.parse_args()
    if args.log_commands:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
