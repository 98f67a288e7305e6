#!/usr/bin/env python3
"""s3proxy: a fault-injecting, SigV4-checking proxy in front of RGW, for tests.

The store (Ceph RGW, tests/rgw/) checks signatures itself; this proxy adds
what a real store cannot be made to do on demand: injected errors, a held
request, a slow link, a log of every request, TLS with a test certificate
and a session token. It also recomputes every request's signature with
botocore's reference signer (a second opinion next to RGW's), checks each
body against its x-amz-content-sha256 before any of it goes upstream
(bodies are spooled, to disk past 32 MiB), and streams replies back.

    s3proxy.py --port P --upstream HOST:PORT [--access-key K] [--secret S]
               [--region R] [--session-token T] [--log FILE]
               [--fault-file FILE] [--rate MIBPS]
               [--tls-cert CRT --tls-key KEY]

--log appends one line per request: METHOD PATH?QUERY STATUS inflight=N
out=B, where N is how many part uploads (PUT ...partNumber=) were in
flight and B the bytes of the reply's body relayed to the client.
--fault-file, when the file exists, is read on every request: each line is
`METHOD SUBSTRING ACTION [TIMES]`; the first line whose method matches (or
`*`) and whose SUBSTRING occurs in the path and query applies ACTION
instead of forwarding (at most TIMES times when given): an HTTP status (500, 503: an S3 error reply), `200err` (an
<Error> document with status 200, as CompleteMultipartUpload may send),
`close` (drop the connection) or `hang` (hold the request until the file
is removed; a file FILE.held is created so a test can see that it is held).
--rate caps each request body's speed as it comes in from the client, as
one connection to S3 is capped (for the benchmark's emulated-link run, and
for tests that stop a run mid-upload).
--session-token: requests must carry this x-amz-security-token; RGW here
has no STS, so the proxy drops the token and signs the request again.
Needs python3 and Debian's python3-botocore.
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import http.server
import os
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

HOP_BY_HOP = {'connection', 'keep-alive', 'proxy-connection', 'te',
              'trailer', 'transfer-encoding', 'upgrade', 'expect'}
CHUNK = 1 << 18
SPOOL = 32 << 20
MAX_SKEW = 900


class Reject(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ExactSigner(S3SigV4Auth):
    """botocore's S3 signer, restricted to the headers the client said it
    signed (botocore would otherwise pick its own set)."""

    def __init__(self, creds, region, signed):
        super().__init__(creds, 's3', region)
        self.signed = signed

    def headers_to_sign(self, request):
        h = HTTPHeaders()
        for name in self.signed:
            for v in request.headers.get_all(name) or []:
                h[name] = v
        return h


def parse_auth(value):
    algo, _, rest = value.partition(' ')
    if algo != 'AWS4-HMAC-SHA256':
        raise Reject(400, 'InvalidArgument', 'Unsupported Authorization Type')
    parts = {}
    for comp in rest.split(','):
        k, _, v = comp.strip().partition('=')
        parts[k] = v
    if set(parts) != {'Credential', 'SignedHeaders', 'Signature'}:
        raise Reject(400, 'AuthorizationHeaderMalformed',
                     'The authorization header is malformed')
    cred = parts['Credential'].split('/')
    if len(cred) != 5 or cred[3] != 's3' or cred[4] != 'aws4_request':
        raise Reject(400, 'AuthorizationHeaderMalformed',
                     'The authorization header is malformed; bad Credential')
    return cred, parts['SignedHeaders'].split(';'), parts['Signature']


class Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, args):
        super().__init__(('127.0.0.1', args.port), Handler)
        self.args = args
        self.lock = threading.Lock()
        self.inflight = 0
        self.faults = {}  # fault line -> times applied


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *a):
        pass

    # Answer 100-continue only once the signature is checked, as S3 does,
    # so a refused request never sends its body.
    def handle_expect_100(self):
        return True

    def do_GET(self):
        self.handle_any()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    def log_line(self, status, inflight=0, out=0):
        log = self.server.args.log
        if log:
            with self.server.lock, open(log, 'a') as f:
                f.write(f'{self.command} {self.path} {status} '
                        f'inflight={inflight} out={out}\n')

    def send_error_xml(self, status, code, message, close=False):
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
                f'{escape(code)}</Code><Message>{escape(message)}</Message>'
                '</Error>').encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/xml')
        self.send_header('Content-Length', str(len(body)))
        if close:
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)
        self.log_line(status)

    def fault(self):
        path = self.server.args.fault_file
        if not path or not os.path.exists(path):
            return None
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) not in (3, 4) or w[0] not in ('*', self.command) \
                        or w[1] not in self.path:
                    continue
                if len(w) == 4:
                    with self.server.lock:
                        used = self.server.faults.get(line, 0)
                        if used >= int(w[3]):
                            continue
                        self.server.faults[line] = used + 1
                return w[2]
        return None

    def check_signature(self):
        a = self.server.args
        auth = self.headers.get('Authorization')
        if not auth:
            raise Reject(403, 'AccessDenied', 'Anonymous access is refused')
        cred, signed, sig = parse_auth(auth)
        if cred[0] != a.access_key:
            raise Reject(403, 'InvalidAccessKeyId',
                         'The AWS Access Key Id you provided does not exist '
                         'in our records.')
        amzdate = self.headers.get('x-amz-date', '')
        try:
            t = datetime.datetime.strptime(amzdate, '%Y%m%dT%H%M%SZ')
        except ValueError:
            raise Reject(403, 'AccessDenied',
                         'AWS authentication requires a valid x-amz-date')
        now = datetime.datetime.utcnow()
        if abs((now - t).total_seconds()) > MAX_SKEW:
            raise Reject(403, 'RequestTimeTooSkewed',
                         'The difference between the request time and the '
                         'current time is too large.')
        if cred[1] != amzdate[:8]:
            raise Reject(403, 'SignatureDoesNotMatch',
                         'Credential date does not match x-amz-date')
        if cred[2] != a.region:
            raise Reject(400, 'AuthorizationHeaderMalformed',
                         f"the region '{cred[2]}' is wrong; expecting "
                         f"'{a.region}'")
        for need in ('host', 'x-amz-date', 'x-amz-content-sha256'):
            if need not in signed:
                raise Reject(403, 'SignatureDoesNotMatch',
                             f'{need} must be signed')
        for name in signed:
            if name not in self.headers:
                raise Reject(403, 'SignatureDoesNotMatch',
                             f'signed header {name} was not sent')
        for name in self.headers:
            if name.lower().startswith('x-amz-') and \
                    name.lower() not in signed:
                raise Reject(403, 'AccessDenied',
                             f'There were headers present in the request '
                             f'which were not signed: {name.lower()}')
        if a.session_token and \
                self.headers.get('x-amz-security-token') != a.session_token:
            raise Reject(403, 'InvalidToken',
                         'The provided token is malformed or otherwise '
                         'invalid.')
        want = self.sign(dict(self.headers.items()), signed, amzdate)
        if not hmac.compare_digest(want, sig):
            raise Reject(403, 'SignatureDoesNotMatch',
                         'The request signature we calculated does not '
                         'match the signature you provided. Check your key '
                         'and signing method.')

    def sign(self, headers, signed, amzdate):
        """The signature of this request over HEADERS, as S3 computes it."""
        a = self.server.args
        # S3 canonicalises what it received: decoded, then RFC 3986
        # encoded again, query pairs sorted.
        u = urllib.parse.urlsplit(self.path)
        path = urllib.parse.quote(urllib.parse.unquote(u.path), safe='/~')
        params = []
        if u.query:
            for pair in u.query.split('&'):
                k, _, v = pair.partition('=')
                params.append((urllib.parse.unquote(k),
                               urllib.parse.unquote(v)))
        req = AWSRequest(method=self.command,
                         url='http://' + self.headers['host'] + path,
                         headers=headers, params=params)
        req.context['timestamp'] = amzdate
        signer = ExactSigner(Credentials(a.access_key, a.secret), a.region,
                             signed)
        canonical = signer.canonical_request(req)
        return signer.signature(signer.string_to_sign(req, canonical), req)

    def upstream_headers(self):
        h = [(k, v) for k, v in self.headers.items()
             if k.lower() not in HOP_BY_HOP]
        if not self.server.args.session_token:
            return h
        # RGW here has no STS: the token checked above is dropped and the
        # request signed again without it, with the same key.
        cred, signed, _ = parse_auth(self.headers['Authorization'])
        signed = [n for n in signed if n != 'x-amz-security-token']
        h = [(k, v) for k, v in h
             if k.lower() not in ('authorization', 'x-amz-security-token')]
        sig = self.sign(dict(h), signed, self.headers['x-amz-date'])
        h.append(('Authorization', 'AWS4-HMAC-SHA256 Credential=' +
                  '/'.join(cred) + ', SignedHeaders=' + ';'.join(signed) +
                  ', Signature=' + sig))
        return h

    def handle_any(self):
        act = self.fault()
        if act == 'close':
            self.close_connection = True
            self.log_line('close')
            return
        if act == 'hang':
            held = self.server.args.fault_file + '.held'
            open(held, 'a').close()
            while os.path.exists(self.server.args.fault_file):
                time.sleep(0.05)
            act = None
        expect = self.headers.get('Expect', '').lower() == '100-continue'
        length = int(self.headers.get('Content-Length') or 0)
        try:
            if self.headers.get('Transfer-Encoding'):
                raise Reject(411, 'MissingContentLength',
                             'You must provide the Content-Length HTTP '
                             'header.')
            if act == '200err':
                # CompleteMultipartUpload may fail after its 200 header.
                raise Reject(200, 'InternalError', 'injected fault')
            if act and act.isdigit():
                raise Reject(int(act), 'InternalError' if act == '500'
                             else 'SlowDown', 'injected fault')
            self.check_signature()
        except Reject as r:
            # Without 100-continue the body is on its way: read it so the
            # client sees the reply rather than a reset.
            if not expect:
                self.drain(length)
            self.send_error_xml(r.status, r.code, r.message, close=expect)
            return
        if expect:
            self.send_response_only(100)
            self.end_headers()
        self.forward(length)

    def drain(self, n):
        while n > 0:
            b = self.rfile.read(min(n, CHUNK))
            if not b:
                break
            n -= len(b)

    def forward(self, length):
        srv = self.server
        part = self.command == 'PUT' and 'partNumber=' in self.path
        with srv.lock:
            srv.inflight += part
            inflight = srv.inflight
        try:
            self.relay(length, inflight)
        finally:
            with srv.lock:
                srv.inflight -= part

    def relay(self, length, inflight):
        # The body is spooled and checked before any of it goes upstream:
        # the store must never see a truncated body.
        declared = self.headers.get('x-amz-content-sha256', '').lower()
        h = hashlib.sha256()
        left = length
        rate = self.server.args.rate * 1048576
        t0 = time.monotonic()
        with tempfile.SpooledTemporaryFile(SPOOL) as spool:
            while left > 0:
                try:
                    b = self.rfile.read(min(left, CHUNK))
                except OSError:
                    b = b''
                if not b:
                    self.close_connection = True
                    self.log_line('client-gone', inflight)
                    return
                left -= len(b)
                h.update(b)
                spool.write(b)
                if rate > 0:
                    ahead = (length - left) / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
            if len(declared) == 64 and h.hexdigest() != declared:
                self.send_error_xml(400, 'XAmzContentSHA256Mismatch',
                                    'The provided x-amz-content-sha256 '
                                    'header does not match what was '
                                    'computed.')
                return
            spool.seek(0)
            host, _, port = self.server.args.upstream.rpartition(':')
            up = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                up.putrequest(self.command, self.path, skip_host=True,
                              skip_accept_encoding=True)
                for k, v in self.upstream_headers():
                    up.putheader(k, v)
                up.endheaders()
                for b in iter(lambda: spool.read(CHUNK), b''):
                    up.send(b)
                resp = up.getresponse()
            except OSError:
                up.close()
                self.send_error_xml(503, 'ServiceUnavailable',
                                    'upstream unavailable')
                return
        body = None
        clen = resp.getheader('Content-Length')
        if clen is None and self.command != 'HEAD':
            body = resp.read()
            clen = str(len(body))
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != 'content-length':
                self.send_header(k, v)
        if clen is not None:
            self.send_header('Content-Length', clen)
        self.end_headers()
        out = 0
        if body is not None:
            self.wfile.write(body)
            out = len(body)
        elif self.command != 'HEAD':
            while True:
                b = resp.read(CHUNK)
                if not b:
                    break
                self.wfile.write(b)
                out += len(b)
        up.close()
        self.log_line(resp.status, inflight, out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--upstream', required=True, help='HOST:PORT of the store')
    p.add_argument('--access-key', default='AK')
    p.add_argument('--secret', default='SK')
    p.add_argument('--region', default='us-east-1')
    p.add_argument('--session-token')
    p.add_argument('--log')
    p.add_argument('--fault-file')
    p.add_argument('--rate', type=float, default=0,
                   help='MiB/s per request body, like one S3 connection')
    p.add_argument('--tls-cert', help='serve HTTPS with this certificate')
    p.add_argument('--tls-key', help='and this key')
    args = p.parse_args()
    srv = Proxy(args)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f's3proxy on 127.0.0.1:{args.port} -> {args.upstream}',
          file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == '__main__':
    main()
