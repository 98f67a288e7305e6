/*
 * ssh target: archives over SFTP (libssh2), plugin ABI 2.0.
 *
 * The host key is checked strictly against known_hosts (plain and hashed
 * entries); an unknown or changed key refuses the connection before any
 * byte is sent, unless accept_new_host_key = yes and the host has no entry
 * at all. A put streams into a dotted temporary name carrying the final
 * one (.NAME.partial-PID), which commit fsyncs where the server offers
 * fsync@openssh.com and renames into place. libssh2 1.10 pipelines SFTP
 * writes when handed large buffers, so write() buffers a window of a few
 * MiB and keeps it in flight. One attempt per call: errors are graded
 * (transport ERETRY, host key and credentials EAUTH, ...) and the core
 * retries on a fresh handle.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <openssl/evp.h>

#include "cairn/plugin.h"

/* Upload window. libssh2 turns all bytes handed to one sftp_write() into
 * write requests at once; refilled at half, 1-2 MiB stay in flight, just
 * under OpenSSH's 2 MiB channel window. Queuing more than the window
 * measured slower (libssh2 then spins on a full window). */
#define XFER_BUF (2u << 20)
#define TMP_TAG ".partial-"
#define NAME_MAX_BYTES 255

/* libssh2 1.11 sends posix-rename@openssh.com, which replaces an existing
 * name in one step; 1.10 has only SSH_FXP_RENAME, which OpenSSH refuses
 * over an existing name. */
#if defined(LIBSSH2_VERSION_NUM) && LIBSSH2_VERSION_NUM >= 0x010b00
#define HAVE_POSIX_RENAME 1
#endif

static const struct cairn_key_spec ssh_keys[] = {
	CAIRN_KEY("host", CAIRN_KEY_STRING, NULL, CAIRN_KEY_REQUIRED,
		  "SSH server to connect to"),
	CAIRN_KEY_RANGE("port", CAIRN_KEY_INT, "22", 0, 1, 65535,
			"TCP port of the SSH server"),
	CAIRN_KEY("user", CAIRN_KEY_STRING, NULL, 0,
		  "login name (default: the effective user)"),
	CAIRN_KEY("path", CAIRN_KEY_STRING, NULL, CAIRN_KEY_REQUIRED,
		  "directory on the server (relative: to the login "
		  "directory); created when missing"),
	CAIRN_KEY("identity", CAIRN_KEY_PATH, NULL, 0,
		  "private key file (ed25519 or ECDSA), mode 600"),
	CAIRN_KEY("passphrase_file", CAIRN_KEY_PATH, NULL, 0,
		  "file (mode 600) whose first line is the key's "
		  "passphrase"),
	CAIRN_KEY("passphrase", CAIRN_KEY_STRING, NULL, CAIRN_KEY_SECRET,
		  "passphrase of the identity (or use passphrase_file)"),
	CAIRN_KEY("known_hosts", CAIRN_KEY_PATH, "~/.ssh/known_hosts", 0,
		  "known_hosts file the host key is checked against"),
	CAIRN_KEY("agent", CAIRN_KEY_BOOL, "no", 0,
		  "authenticate with ssh-agent (SSH_AUTH_SOCK)"),
	CAIRN_KEY("accept_new_host_key", CAIRN_KEY_BOOL, "no", 0,
		  "record the key of a host known_hosts has no entry for"),
	CAIRN_KEY_RANGE("connect_timeout", CAIRN_KEY_DURATION, "10", 0, 1,
			3600, "TCP connect and SSH handshake timeout"),
	CAIRN_KEY_RANGE("timeout", CAIRN_KEY_DURATION, "300", 0, 1, 86400,
			"timeout of each SFTP request once connected"),
	CAIRN_KEY_RANGE("keepalive", CAIRN_KEY_DURATION, "30", 0, 0, 3600,
			"SSH keepalive interval, 0 for none"),
	CAIRN_KEY_END,
};

struct ssh {
	const struct cairn_host *hs;
	const struct cairn_target_config *cfg;
	char *hostname, *user, *path;
	const char *identity, *known_hosts; /* the core's strings */
	char *passphrase;     /* never printed */
	char khname[300];     /* host as known_hosts names it */
	char where[512];      /* user@host:port for messages */
	int port, connect_timeout, timeout, keepalive;
	bool agent, accept_new;
	int sock;
	LIBSSH2_SESSION *s;
	LIBSSH2_SFTP *sftp;
	bool broken; /* transport failed: reconnect before the next use */
	time_t last_use;
	bool lib_init;
};

struct cairn_txn {
	struct ssh *c;
	LIBSSH2_SFTP_HANDLE *h;
	char *name, *tmp, *dst;
	uint64_t size, done; /* announced; accepted by the server */
	char *buf;
	size_t len, off; /* bytes buffered; bytes of them acknowledged */
};

#define LOG(c, ...) (c)->hs->log((c)->hs, __VA_ARGS__)

/* ---- small helpers ---------------------------------------------------- */

static bool stopped(struct ssh *c)
{
	return c->hs->stopped && c->hs->stopped(c->hs);
}

/* A private file must not be readable by group or others, as ssh demands
 * of private keys. */
static int check_private(const char *key, const char *file,
			 struct cairn_error *err)
{
	struct stat st;

	if (stat(file, &st))
		return cairn_errf(err, CAIRN_ECONFIG, "%s: %s: %s", key, file,
				  strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cairn_errf(err, CAIRN_ECONFIG,
				  "%s: %s is not a regular file", key, file);
	if (st.st_mode & 077)
		return cairn_errf(err, CAIRN_ECONFIG,
				  "%s: %s is accessible by group or others "
				  "(chmod 600 it)", key, file);
	if (access(file, R_OK))
		return cairn_errf(err, CAIRN_ECONFIG, "%s: %s: %s", key, file,
				  strerror(errno));
	return 0;
}

static int read_passphrase(struct ssh *c, const char *file,
			   struct cairn_error *err)
{
	char line[1024];
	FILE *f;
	int rc = check_private("passphrase_file", file, err);

	if (rc)
		return rc;
	f = fopen(file, "r");
	if (!f)
		return cairn_errf(err, CAIRN_ECONFIG,
				  "passphrase_file: %s: %s", file,
				  strerror(errno));
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	c->passphrase = strdup(line);
	explicit_bzero(line, sizeof(line));
	if (!c->passphrase)
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	return 0;
}

/* Base64 of a SHA-256, unpadded: the fingerprint OpenSSH prints. */
static void fingerprint(const unsigned char *blob, size_t len, char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *p;

	EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL);
	strcpy(out, "SHA256:");
	EVP_EncodeBlock((unsigned char *)out + 7, md, (int)mdlen);
	p = strchr(out, '=');
	if (p)
		*p = '\0';
}

/* Decode base64 (whitespace allowed) into a malloc'd buffer. */
static unsigned char *b64_decode(const char *in, size_t inlen, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char *out = malloc(inlen / 4 * 3 + 4);
	int n = 0, m = 0;

	if (!ctx || !out)
		goto bad;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)in,
			     (int)inlen) < 0 ||
	    EVP_DecodeFinal(ctx, out + n, &m) < 0)
		goto bad;
	EVP_ENCODE_CTX_free(ctx);
	*outlen = (size_t)(n + m);
	return out;
bad:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

/* The SSH key type of a private key file, for messages ("ssh-rsa" matters:
 * libssh2 1.10 signs RSA only with SHA-1, which OpenSSH 8.8+ refuses).
 * Reads FILE.pub if present, else the public half that an OpenSSH-format
 * private key carries unencrypted, else the PEM label. */
/* The type from FILE.pub ("ssh-ed25519 AAAA... comment"); false when
 * there is no such file. */
static bool pub_key_type(const char *file, char *out, size_t outlen)
{
	char line[512], *pub = NULL;
	size_t n;
	FILE *f;

	if (asprintf(&pub, "%s.pub", file) < 0)
		return false;
	f = fopen(pub, "r");
	free(pub);
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f) && strchr(line, ' ') &&
	    (n = strcspn(line, " ")) < outlen) {
		memcpy(out, line, n);
		out[n] = '\0';
	}
	fclose(f);
	return true;
}

/* The base64 lines of f up to "-----END", joined; *blen their length. */
static char *pem_body(FILE *f, size_t *blen)
{
	char line[512], *body = NULL;

	*blen = 0;
	while (fgets(line, sizeof(line), f) && !strstr(line, "-----END")) {
		size_t n = strlen(line);
		char *nb = realloc(body, *blen + n + 1);

		if (!nb) {
			free(body);
			return NULL;
		}
		body = nb;
		memcpy(body + *blen, line, n + 1);
		*blen += n;
	}
	return body;
}

/* The public key type in an openssh-key-v1 blob: "openssh-key-v1\0",
 * cipher, kdf, kdfopts, nkeys, pubkey{type,...}. */
static void v1_key_type(const unsigned char *raw, size_t n, char *out,
			size_t outlen)
{
	const unsigned char *p = raw + 15, *end = raw + n;
	uint32_t len;

	if (n < 15 || memcmp(raw, "openssh-key-v1", 15))
		return;
	for (int i = 0; i < 3; i++) {
		if (end - p < 4)
			return;
		len = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
		if ((size_t)(end - p - 4) < len)
			return;
		p += 4 + len;
	}
	if (end - p < 12)
		return;
	p += 8; /* nkeys, pubkey length */
	len = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
	if ((size_t)(end - p - 4) < len || len >= outlen)
		return;
	memcpy(out, p + 4, len);
	out[len] = '\0';
}

static void key_type(const char *file, char *out, size_t outlen)
{
	char line[512], *body = NULL;
	size_t blen = 0, n = 0;
	unsigned char *raw = NULL;
	FILE *f;

	snprintf(out, outlen, "unknown type");
	if (pub_key_type(file, out, outlen) || !(f = fopen(file, "r")))
		return;
	if (!fgets(line, sizeof(line), f))
		goto out;
	if (strstr(line, "BEGIN RSA PRIVATE KEY"))
		snprintf(out, outlen, "ssh-rsa");
	else if (strstr(line, "BEGIN EC PRIVATE KEY"))
		snprintf(out, outlen, "ecdsa");
	else if (strstr(line, "BEGIN OPENSSH PRIVATE KEY") &&
		 (body = pem_body(f, &blen)) &&
		 (raw = b64_decode(body, blen, &n)))
		v1_key_type(raw, n, out, outlen);
out:
	free(raw);
	free(body);
	fclose(f);
}

/* ---- host keys -------------------------------------------------------- */

static const struct {
	int hk;      /* LIBSSH2_HOSTKEY_TYPE_* */
	int kh;      /* LIBSSH2_KNOWNHOST_KEY_* */
	const char *name;
} key_types[] = {
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519,
	  "ssh-ed25519" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
	  "ecdsa-sha2-nistp256" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
	  "ecdsa-sha2-nistp384" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
	  "ecdsa-sha2-nistp521" },
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa" },
	{ LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss" },
};
#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

/*
 * Load known_hosts line by line: libssh2_knownhost_readfile() gives up at
 * the first line it cannot parse (markers, certificates, new key types),
 * which would silently drop every entry after it. @revoked keys are kept
 * aside and refused.
 */
struct khfile {
	LIBSSH2_KNOWNHOSTS *kh;
	char **revoked; /* base64 key blobs */
	int nrevoked;
};

static void kh_free(struct khfile *k)
{
	if (k->kh)
		libssh2_knownhost_free(k->kh);
	for (int i = 0; i < k->nrevoked; i++)
		free(k->revoked[i]);
	free(k->revoked);
}

static int kh_load(struct ssh *c, struct khfile *k, struct cairn_error *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = CAIRN_EFAIL;
	FILE *f;

	k->kh = libssh2_knownhost_init(c->s);
	if (!k->kh)
		return cairn_errf(err, CAIRN_EFAIL, "libssh2_knownhost_init "
				  "failed");
	f = fopen(c->known_hosts, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0; /* every host is unknown */
		return cairn_errf(err, CAIRN_ECONFIG, "known_hosts: %s: %s",
				  c->known_hosts, strerror(errno));
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		char *p = line + strspn(line, " \t");

		lineno++;
		if (!strncmp(p, "@revoked", 8)) {
			char *save, *tok, **nr;

			strtok_r(p, " \t\r\n", &save);      /* marker */
			strtok_r(NULL, " \t\r\n", &save);   /* hosts */
			strtok_r(NULL, " \t\r\n", &save);   /* type */
			tok = strtok_r(NULL, " \t\r\n", &save);
			if (!tok)
				continue;
			nr = realloc(k->revoked,
				     (size_t)(k->nrevoked + 1) * sizeof(*nr));
			if (!nr || !(nr[k->nrevoked] = strdup(tok))) {
				if (nr)
					k->revoked = nr;
				cairn_errf(err, CAIRN_EFAIL, "out of memory");
				goto out;
			}
			k->revoked = nr;
			k->nrevoked++;
			continue;
		}
		if (*p == '@')
			continue; /* @cert-authority: libssh2 has no certs */
		if (libssh2_knownhost_readline(k->kh, line, (size_t)n,
					       LIBSSH2_KNOWNHOST_FILE_OPENSSH))
			LOG(c, CAIRN_LOG_DEBUG,
				    "%s:%d: line skipped (not understood by "
				    "libssh2)", c->known_hosts, lineno);
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}

/* Key types known_hosts lists for this host, as a bit per key_types[]
 * entry. A check with a key that matches nothing answers MISMATCH exactly
 * when the host has an entry of that type, hashed or not. */
static unsigned kh_types(struct ssh *c, struct khfile *k)
{
	unsigned mask = 0;

	for (size_t i = 0; i < N_KEY_TYPES; i++)
		if (libssh2_knownhost_checkp(
			    k->kh, c->khname, -1, "-", 1,
			    LIBSSH2_KNOWNHOST_TYPE_PLAIN |
				    LIBSSH2_KNOWNHOST_KEYENC_BASE64 |
				    key_types[i].kh,
			    NULL) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
			mask |= 1u << i;
	return mask;
}

static void type_list(unsigned mask, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_KEY_TYPES; i++)
		if (mask & (1u << i))
			off += (size_t)snprintf(out + off, len - off, "%s%s",
						off ? "," : "",
						key_types[i].name);
}

/* Offer only the host key algorithms known_hosts has for this host:
 * libssh2 prefers ECDSA, and would otherwise fail against an
 * ed25519-only known_hosts. */
static void set_hostkey_pref(struct ssh *c, unsigned mask)
{
	char list[256];

	if (!mask)
		return;
	type_list(mask, list, sizeof(list));
	if (libssh2_session_method_pref(c->s, LIBSSH2_METHOD_HOSTKEY, list))
		LOG(c, CAIRN_LOG_DEBUG,
			    "host key preference %s not supported by libssh2",
			    list);
}

static int kh_append(struct ssh *c, struct khfile *k, const char *key,
		     size_t len, int kh_type, struct cairn_error *err)
{
	struct libssh2_knownhost *ent;
	char line[4096], last = '\n';
	size_t outlen = 0;
	int fd, rc = CAIRN_EFAIL;
	struct stat st;

	if (libssh2_knownhost_addc(k->kh, c->khname, NULL, key, len, NULL, 0,
				   LIBSSH2_KNOWNHOST_TYPE_PLAIN |
					   LIBSSH2_KNOWNHOST_KEYENC_RAW |
					   kh_type,
				   &ent) ||
	    libssh2_knownhost_writeline(k->kh, ent, line, sizeof(line),
					&outlen,
					LIBSSH2_KNOWNHOST_FILE_OPENSSH))
		return cairn_errf(err, CAIRN_EFAIL, "cannot format a "
				  "known_hosts line for %s", c->khname);
	fd = open(c->known_hosts, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return cairn_errf(err, CAIRN_ECONFIG, "known_hosts: %s: %s",
				  c->known_hosts, strerror(errno));
	/* Never glue our line onto an unterminated last line. */
	if (!fstat(fd, &st) && st.st_size > 0 &&
	    pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n' &&
	    write(fd, "\n", 1) != 1)
		goto ioerr;
	if (write(fd, line, outlen) != (ssize_t)outlen || fsync(fd))
		goto ioerr;
	rc = 0;
	goto out;
ioerr:
	cairn_errf(err, CAIRN_EFAIL, "known_hosts: writing %s: %s",
		   c->known_hosts, strerror(errno));
out:
	close(fd);
	return rc;
}

/* Is key (raw, len bytes) one known_hosts marks @revoked? */
static bool revoked(const struct khfile *k, const char *key, size_t len)
{
	for (int i = 0; i < k->nrevoked; i++) {
		size_t rlen;
		unsigned char *r = b64_decode(k->revoked[i],
					      strlen(k->revoked[i]), &rlen);
		bool hit = r && rlen == len && !memcmp(r, key, len);

		free(r);
		if (hit)
			return true;
	}
	return false;
}

static int verify_host_key(struct ssh *c, struct khfile *k, unsigned mask,
			   struct cairn_error *err)
{
	const char *key, *tname = "unknown";
	char fp[64], known[256];
	size_t len = 0;
	int type = 0, kh_type = LIBSSH2_KNOWNHOST_KEY_UNKNOWN;

	key = libssh2_session_hostkey(c->s, &len, &type);
	if (!key)
		return cairn_errf(err, CAIRN_EFAIL, "%s: no host key received",
				  c->where);
	for (size_t i = 0; i < N_KEY_TYPES; i++)
		if (key_types[i].hk == type) {
			kh_type = key_types[i].kh;
			tname = key_types[i].name;
		}
	fingerprint((const unsigned char *)key, len, fp);
	if (revoked(k, key, len))
		return cairn_errf(err, CAIRN_EAUTH, "%s: host key %s %s is "
				  "marked @revoked in %s; refusing", c->where,
				  tname, fp, c->known_hosts);
	switch (libssh2_knownhost_checkp(k->kh, c->khname, -1, key, len,
					 LIBSSH2_KNOWNHOST_TYPE_PLAIN |
						 LIBSSH2_KNOWNHOST_KEYENC_RAW |
						 kh_type,
					 NULL)) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		LOG(c, CAIRN_LOG_DEBUG, "%s: host key %s %s",
			    c->where, tname, fp);
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		return cairn_errf(err, CAIRN_EAUTH,
				  "%s: HOST KEY CHANGED: server offers %s %s, "
				  "which differs from %s; refusing (if the "
				  "change is expected: ssh-keygen -R '%s' -f "
				  "%s)", c->where, tname, fp, c->known_hosts,
				  c->khname, c->known_hosts);
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		break;
	default:
		return cairn_errf(err, CAIRN_EAUTH,
				  "%s: cannot check host key %s %s against "
				  "%s; refusing", c->where, tname, fp,
				  c->known_hosts);
	}
	if (mask) {
		type_list(mask, known, sizeof(known));
		return cairn_errf(err, CAIRN_EAUTH,
				  "%s: server offers host key %s %s but %s "
				  "has only %s for %s; refusing", c->where,
				  tname, fp, c->known_hosts, known, c->khname);
	}
	if (!c->accept_new)
		return cairn_errf(err, CAIRN_EAUTH,
				  "%s: unknown host key %s %s (not in %s); "
				  "refusing: verify it and add it to "
				  "known_hosts, or set accept_new_host_key = "
				  "yes", c->where, tname, fp, c->known_hosts);
	if (kh_append(c, k, key, len, kh_type, err))
		return err->code;
	LOG(c, CAIRN_LOG_WARN, "%s: new host key %s %s added "
		    "to %s", c->where, tname, fp, c->known_hosts);
	return 0;
}

/* ---- connection ------------------------------------------------------- */

static void disconnect(struct ssh *c)
{
	if (c->sftp)
		libssh2_sftp_shutdown(c->sftp);
	c->sftp = NULL;
	if (c->s) {
		libssh2_session_disconnect(c->s, "cairn: done");
		libssh2_session_free(c->s);
	}
	c->s = NULL;
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	c->broken = false;
}

/* TCP connect bounded by connect_timeout. */
static int tcp_connect(struct ssh *c, struct cairn_error *err)
{
	struct addrinfo hints = { 0 }, *ai = NULL, *a;
	char port[16];
	int e = 0, fd = -1, g, one = 1;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	snprintf(port, sizeof(port), "%d", c->port);
	g = getaddrinfo(c->hostname, port, &hints, &ai);
	if (g)
		return cairn_errf(err, g == EAI_AGAIN ? CAIRN_ERETRY
						      : CAIRN_EUNAVAIL,
				  "%s: cannot resolve %s: %s", c->where,
				  c->hostname, gai_strerror(g));
	for (a = ai; a; a = a->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof(e);

		fd = socket(a->ai_family,
			    a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		e = 0;
		if (connect(fd, a->ai_addr, a->ai_addrlen)) {
			e = errno;
			if (e == EINPROGRESS) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				g = poll(&pfd, 1, c->connect_timeout * 1000);
				if (g == 0)
					e = ETIMEDOUT;
				else if (g < 0)
					e = errno;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR,
						    &e, &sl))
					e = errno;
			}
		}
		if (!e)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return cairn_errf(err, CAIRN_ERETRY, "%s: connect: %s",
				  c->where, strerror(e));
	/* libssh2 wants a blocking socket; it applies its own timeouts. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	c->sock = fd;
	return 0;
}

static const char *last_error(struct ssh *c)
{
	char *msg = NULL;

	if (!c->s)
		return "no session";
	libssh2_session_last_error(c->s, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown error";
}

/* A transport-level failure: the session is unusable. It is torn down
 * before the next operation, not here, so the failing one can still free
 * its SFTP handles (libssh2 does not free them at shutdown); cleanup
 * calls on the dead link get a short timeout. */
static int transport_err(struct ssh *c, struct cairn_error *err,
			 const char *what)
{
	int e = c->s ? libssh2_session_last_errno(c->s) : 0;
	int code = CAIRN_ERETRY;

	if (e == LIBSSH2_ERROR_ALLOC || e == LIBSSH2_ERROR_BAD_USE ||
	    e == LIBSSH2_ERROR_INVAL)
		code = CAIRN_EFAIL;
	cairn_errf(err, code, "%s: %s: %s", c->where, what, last_error(c));
	c->broken = true;
	if (c->s)
		libssh2_session_set_timeout(c->s, 1000);
	return code;
}

static const char *rsa_hint(const char *type)
{
	return strcmp(type, "ssh-rsa") ? "" :
	       "; RSA keys cannot work with libssh2 1.10 (it signs only with "
	       "SHA-1 ssh-rsa, which OpenSSH 8.8+ refuses): use an ed25519 or "
	       "ECDSA key";
}

static int auth_file(struct ssh *c, struct cairn_error *err)
{
	char type[64];
	int r;

	r = libssh2_userauth_publickey_fromfile_ex(
		c->s, c->user, (unsigned)strlen(c->user), NULL, c->identity,
		c->passphrase ? c->passphrase : NULL);
	if (!r)
		return 0;
	key_type(c->identity, type, sizeof(type));
	switch (r) {
	case LIBSSH2_ERROR_FILE:
		return cairn_errf(err, CAIRN_EAUTH,
				  "%s: cannot use identity %s (%s): %s%s",
				  c->where, c->identity, type,
				  c->passphrase ? "wrong passphrase or "
						  "unsupported key format"
						: "encrypted (set "
						  "passphrase_file) or "
						  "unsupported key format",
				  rsa_hint(type));
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
		return cairn_errf(err, CAIRN_EAUTH,
				  "%s: key %s (%s) refused for %s@%s%s",
				  c->where, c->identity, type, c->user,
				  c->hostname, rsa_hint(type));
	default:
		return transport_err(c, err, "authentication");
	}
}

static int auth_agent(struct ssh *c, struct cairn_error *err)
{
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	LIBSSH2_AGENT *ag = libssh2_agent_init(c->s);
	int rc = CAIRN_EAUTH, tried = 0, rsa = 0;

	if (!ag)
		return cairn_errf(err, CAIRN_EFAIL, "libssh2_agent_init "
				  "failed");
	if (libssh2_agent_connect(ag)) {
		cairn_errf(err, CAIRN_EAUTH, "%s: agent = yes but no "
			   "ssh-agent reachable (SSH_AUTH_SOCK %s)", c->where,
			   getenv("SSH_AUTH_SOCK") ? "set" : "unset");
		goto out;
	}
	if (libssh2_agent_list_identities(ag)) {
		cairn_errf(err, CAIRN_EAUTH, "%s: cannot list ssh-agent keys",
			   c->where);
		goto out;
	}
	while (libssh2_agent_get_identity(ag, &id, prev) == 0) {
		prev = id;
		tried++;
		if (id->blob_len > 11 && !memcmp(id->blob + 4, "ssh-rsa", 7))
			rsa++;
		if (!libssh2_agent_userauth(ag, c->user, id)) {
			rc = 0;
			goto out;
		}
		if (!c->s || libssh2_session_last_errno(c->s) ==
				     LIBSSH2_ERROR_SOCKET_RECV) {
			rc = transport_err(c, err, "agent authentication");
			goto out;
		}
	}
	cairn_errf(err, CAIRN_EAUTH, "%s: none of the %d ssh-agent keys was "
		   "accepted for %s@%s%s", c->where, tried, c->user, c->hostname,
		   rsa ? rsa_hint("ssh-rsa") : "");
out:
	libssh2_agent_disconnect(ag);
	libssh2_agent_free(ag);
	return rc;
}

static int authenticate(struct ssh *c, struct cairn_error *err)
{
	const char *methods;
	int rc = CAIRN_EAUTH;

	methods = libssh2_userauth_list(c->s, c->user,
					(unsigned)strlen(c->user));
	if (!methods) {
		if (libssh2_userauth_authenticated(c->s))
			return 0;
		return transport_err(c, err, "authentication");
	}
	if (!strstr(methods, "publickey"))
		return cairn_errf(err, CAIRN_EAUTH,
				  "%s: server offers no publickey "
				  "authentication (only %s)", c->where,
				  methods);
	if (c->identity) {
		rc = auth_file(c, err);
		if (rc != CAIRN_EAUTH)
			return rc;
	}
	if (c->agent) {
		struct cairn_error first = *err;

		rc = auth_agent(c, err);
		/* Name the identity file too when both were tried. */
		if (rc == CAIRN_EAUTH && c->identity)
			cairn_errf(err, CAIRN_EAUTH, "%s; %s", first.msg,
				   err->msg);
	}
	return rc;
}

/* The SSH handshake; a server with none of the key types known_hosts
 * has (mask) for the host is refused as such. */
static int handshake(struct ssh *c, unsigned mask, struct cairn_error *err)
{
	char known[256];
	int r = libssh2_session_handshake(c->s, c->sock);

	if (!r)
		return 0;
	if ((r == LIBSSH2_ERROR_KEX_FAILURE ||
	     r == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED) && mask) {
		type_list(mask, known, sizeof(known));
		return cairn_errf(err, CAIRN_EAUTH, "%s: handshake failed "
				  "(%s): the server offers none of the host "
				  "key types %s has for %s (%s); refusing",
				  c->where, last_error(c), c->known_hosts,
				  c->khname, known);
	}
	return transport_err(c, err, "SSH handshake");
}

static int do_connect(struct ssh *c, struct cairn_error *err)
{
	struct khfile k = { 0 };
	unsigned mask;
	int rc = CAIRN_EFAIL;

	if (c->s)
		return 0;
	rc = tcp_connect(c, err);
	if (rc)
		return rc;
	rc = CAIRN_EFAIL;
	c->s = libssh2_session_init();
	if (!c->s) {
		cairn_errf(err, CAIRN_EFAIL, "libssh2_session_init failed");
		goto out;
	}
	libssh2_session_set_blocking(c->s, 1);
	libssh2_session_set_timeout(c->s, c->connect_timeout * 1000L);
	rc = kh_load(c, &k, err);
	if (rc)
		goto out;
	mask = kh_types(c, &k);
	set_hostkey_pref(c, mask);
	if ((rc = handshake(c, mask, err)) ||
	    (rc = verify_host_key(c, &k, mask, err)) ||
	    (rc = authenticate(c, err)))
		goto out;
	LOG(c, CAIRN_LOG_DEBUG, "%s: %s, %s", c->where,
		    libssh2_session_methods(c->s, LIBSSH2_METHOD_CRYPT_CS),
		    libssh2_session_methods(c->s, LIBSSH2_METHOD_MAC_CS));
	libssh2_session_set_timeout(c->s, c->timeout * 1000L);
	libssh2_keepalive_config(c->s, 0, (unsigned)c->keepalive);
	c->sftp = libssh2_sftp_init(c->s);
	if (!c->sftp) {
		rc = libssh2_session_last_errno(c->s) ==
				     LIBSSH2_ERROR_CHANNEL_FAILURE
			     ? cairn_errf(err, CAIRN_EFAIL,
					  "%s: no SFTP subsystem on the "
					  "server", c->where)
			     : transport_err(c, err, "starting SFTP");
		goto out;
	}
	rc = 0;
out:
	kh_free(&k);
	if (rc)
		disconnect(c);
	return rc;
}

/* ---- SFTP helpers ----------------------------------------------------- */

static int sftp_status(struct ssh *c)
{
	if (c->s && c->sftp &&
	    libssh2_session_last_errno(c->s) == LIBSSH2_ERROR_SFTP_PROTOCOL)
		return (int)libssh2_sftp_last_error(c->sftp);
	return -1;
}

/* Before each operation: reconnect if an earlier one lost the session.
 * A session idle for longer than the keepalive interval may have been
 * dropped by the server or a NAT meanwhile; a cheap round trip finds out,
 * and a dead one is replaced before the operation starts, not retried
 * after it failed. */
static int ensure(struct ssh *c, struct cairn_error *err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	if (c->broken)
		disconnect(c);
	if (c->sftp && c->keepalive &&
	    time(NULL) - c->last_use >= c->keepalive) {
		libssh2_session_set_timeout(c->s, c->connect_timeout * 1000L);
		if (libssh2_sftp_stat(c->sftp, ".", &a) &&
		    sftp_status(c) < 0) {
			LOG(c, CAIRN_LOG_INFO, "%s: idle session "
				    "lost (%s), reconnecting", c->where,
				    last_error(c));
			disconnect(c);
		} else {
			libssh2_session_set_timeout(c->s, c->timeout * 1000L);
		}
	}
	rc = do_connect(c, err);
	c->last_use = time(NULL);
	return rc;
}

/* Translate the last SFTP failure on `obj` (a remote path). */
static int sftp_err(struct ssh *c, struct cairn_error *err, const char *what,
		    const char *obj)
{
	int code;
	const char *why;

	switch (sftp_status(c)) {
	case -1:
		return transport_err(c, err, what);
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		code = CAIRN_ENOTFOUND;
		why = "no such file or directory";
		break;
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
		code = CAIRN_EPERM;
		why = "permission denied";
		break;
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
		code = CAIRN_ENOSPC;
		why = "no space left on the server";
		break;
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		code = CAIRN_ENOSPC;
		why = "quota exceeded on the server";
		break;
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		code = CAIRN_EFAIL;
		why = "not a directory";
		break;
	case LIBSSH2_FX_OP_UNSUPPORTED:
		code = CAIRN_EFAIL;
		why = "operation not supported by the server";
		break;
	case LIBSSH2_FX_NO_CONNECTION:
	case LIBSSH2_FX_CONNECTION_LOST:
		return transport_err(c, err, what);
	default:
		code = CAIRN_EFAIL;
		why = "failure";
		break;
	}
	return cairn_errf(err, code, "%s: %s %s: %s (SFTP status %d)",
			  c->where, what, obj, why, sftp_status(c));
}

static char *rpath(struct ssh *c, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", c->path, name) < 0)
		return NULL;
	return p;
}

static int is_dir(struct ssh *c, const char *p, bool *exists)
{
	LIBSSH2_SFTP_ATTRIBUTES a;

	*exists = false;
	if (libssh2_sftp_stat(c->sftp, p, &a))
		return sftp_status(c) == LIBSSH2_FX_NO_SUCH_FILE ||
		       sftp_status(c) == LIBSSH2_FX_NO_SUCH_PATH ? 0 : -1;
	*exists = true;
	return (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
	       LIBSSH2_SFTP_S_ISDIR(a.permissions);
}

/* mkdir -p over SFTP. */
static int make_path(struct ssh *c, struct cairn_error *err)
{
	char *p = strdup(c->path), *s;
	bool exists;
	int d, rc = CAIRN_EFAIL;

	if (!p)
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	d = is_dir(c, p, &exists);
	if (d > 0) {
		rc = 0;
		goto out;
	}
	for (s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char save = *s;

		*s = '\0';
		d = is_dir(c, p, &exists);
		if (d < 0) {
			rc = sftp_err(c, err, "stat", p);
			goto out;
		}
		if (!exists && libssh2_sftp_mkdir(c->sftp, p, 0700) &&
		    is_dir(c, p, &exists) <= 0) {
			rc = sftp_err(c, err, "mkdir", p);
			goto out;
		}
		if (exists && !d) {
			rc = cairn_errf(err, CAIRN_EFAIL,
					"%s: %s exists and is not a directory",
					c->where, p);
			goto out;
		}
		*s = save;
		if (!*s)
			break;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/* Call cb(name, attrs) for each entry of the target directory. *missing is
 * set when the directory does not exist. */
typedef int (*dir_cb)(struct ssh *c, const char *name,
		      const LIBSSH2_SFTP_ATTRIBUTES *a, void *ctx);

static int walk_dir(struct ssh *c, dir_cb cb, void *ctx, bool *missing,
		    struct cairn_error *err)
{
	LIBSSH2_SFTP_HANDLE *d;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char name[1024];
	int n, rc = CAIRN_EFAIL;

	*missing = false;
	d = libssh2_sftp_opendir(c->sftp, c->path);
	if (!d) {
		rc = sftp_err(c, err, "opendir", c->path);
		if (rc == CAIRN_ENOTFOUND) {
			*missing = true;
			rc = 0;
		}
		return rc;
	}
	while ((n = libssh2_sftp_readdir(d, name, sizeof(name), &a)) > 0) {
		rc = cb(c, name, &a, ctx);
		if (rc)
			goto out;
	}
	if (n < 0) {
		rc = sftp_err(c, err, "readdir", c->path);
		goto out;
	}
	rc = 0;
out:
	libssh2_sftp_closedir(d);
	return rc;
}

/* ---- operations ------------------------------------------------------- */

static int valid_name(const char *name, struct cairn_error *err)
{
	if (!*name || strchr(name, '/') || name[0] == '.' ||
	    strlen(name) > NAME_MAX_BYTES)
		return cairn_errf(err, CAIRN_EFAIL, "invalid object name "
				  "'%s'", name);
	return 0;
}

/* The remote path of object `name` on a connected handle: the checks
 * every operation on one object starts with. */
static int object_path(struct ssh *c, const char *name, char **path,
		       struct cairn_error *err)
{
	int rc;

	*path = NULL;
	if ((rc = valid_name(name, err)) || (rc = ensure(c, err)))
		return rc;
	if (!(*path = rpath(c, name)))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	return CAIRN_OK;
}

struct stale {
	const char *name;
	int removed;
};

/* Remove temporaries a crashed put of the same name left behind. */
static int clean_one(struct ssh *c, const char *ent,
		     const LIBSSH2_SFTP_ATTRIBUTES *a, void *ctx)
{
	struct stale *st = ctx;
	size_t n = strlen(st->name);
	char *p;

	(void)a;
	if (ent[0] != '.' || strncmp(ent + 1, st->name, n) ||
	    strncmp(ent + 1 + n, TMP_TAG, strlen(TMP_TAG)))
		return 0;
	p = rpath(c, ent);
	if (p && !libssh2_sftp_unlink(c->sftp, p))
		st->removed++;
	free(p);
	return 0;
}

/* Server free space in bytes, or -1 when it cannot tell. */
static long long free_space(struct ssh *c, LIBSSH2_SFTP_HANDLE *h)
{
	LIBSSH2_SFTP_STATVFS v;
	int r = h ? libssh2_sftp_fstatvfs(h, &v)
		  : libssh2_sftp_statvfs(c->sftp, c->path, strlen(c->path),
					 &v);

	if (r || !v.f_blocks) /* pseudo filesystems report no blocks */
		return -1;
	return (long long)(v.f_bavail * v.f_frsize);
}

/* Failures while writing: OpenSSH's v3 server reports ENOSPC as a plain
 * SSH_FX_FAILURE, so ask statvfs@openssh.com whether the disk is full. */
static int write_err(struct ssh *c, LIBSSH2_SFTP_HANDLE *h, uint64_t left,
		     const char *what, const char *obj,
		     struct cairn_error *err)
{
	long long fs;

	if (sftp_status(c) == LIBSSH2_FX_FAILURE &&
	    (fs = free_space(c, h)) >= 0 && (uint64_t)fs <= left)
		return cairn_errf(err, CAIRN_ENOSPC,
				  "%s: %s %s: no space left on the server "
				  "(%lld bytes free, %llu still to write)",
				  c->where, what, obj, fs,
				  (unsigned long long)left);
	return sftp_err(c, err, what, obj);
}

static void txn_free(struct cairn_txn *t)
{
	struct ssh *c = t->c;

	if (t->h)
		libssh2_sftp_close_handle(t->h);
	/* On a lost connection the temporary stays: clean() of a later run
	 * removes it, and list() never shows dotted names. */
	if (t->tmp && !c->broken)
		libssh2_sftp_unlink(c->sftp, t->tmp);
	free(t->buf);
	free(t->name);
	free(t->tmp);
	free(t->dst);
	free(t);
}

/* Before a put of name: the folder exists, and temporaries of name
 * that killed runs left are gone. */
static int begin_prepare(struct ssh *c, const char *name,
			 struct cairn_error *err)
{
	struct stale st = { name, 0 };
	bool missing;
	int rc;

	if ((rc = valid_name(name, err)) || (rc = ensure(c, err)) ||
	    (rc = make_path(c, err)) ||
	    (rc = walk_dir(c, clean_one, &st, &missing, err)))
		return rc;
	if (st.removed)
		LOG(c, CAIRN_LOG_INFO, "%s: removed %d stale temporary "
		    "file(s) of %s", c->where, st.removed, name);
	return CAIRN_OK;
}

/* Create t's temporary tname, once the size fits. */
static int begin_temp(struct cairn_txn *t, const char *tname,
		      struct cairn_error *err)
{
	struct ssh *c = t->c;
	long long fs;

	fs = t->size == CAIRN_SIZE_UNKNOWN ? -1 : free_space(c, NULL);
	if (fs >= 0 && (uint64_t)fs < t->size)
		return cairn_errf(err, CAIRN_ENOSPC,
				  "%s: not enough space in %s for %s: %llu "
				  "bytes needed, %lld free", c->where, c->path,
				  t->name, (unsigned long long)t->size, fs);
	if (!(t->tmp = rpath(c, tname)))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	t->h = libssh2_sftp_open(c->sftp, t->tmp,
				 LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT |
					 LIBSSH2_FXF_TRUNC,
				 0600);
	if (!t->h) {
		int rc = sftp_err(c, err, "create", t->tmp);

		/* Not created: nothing to unlink. */
		free(t->tmp);
		t->tmp = NULL;
		return rc;
	}
	return CAIRN_OK;
}

static int ssh_begin(void *handle, const char *name, uint64_t size,
		     struct cairn_txn **txn, struct cairn_error *err)
{
	struct ssh *c = handle;
	struct cairn_txn *t = NULL;
	char *tname = NULL;
	int rc;

	if ((rc = begin_prepare(c, name, err)))
		return rc;
	rc = CAIRN_EFAIL;
	t = calloc(1, sizeof(*t));
	if (!t || asprintf(&tname, ".%s%s%ld", name, TMP_TAG,
			   (long)getpid()) < 0) {
		tname = NULL;
		rc = cairn_errf(err, CAIRN_EFAIL, "out of memory");
		goto out;
	}
	t->c = c;
	t->size = size;
	if (strlen(tname) > NAME_MAX_BYTES) {
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: name too long for its "
				"temporary: %s", c->where, name);
		goto out;
	}
	if (!(t->name = strdup(name)) || !(t->dst = rpath(c, name)) ||
	    !(t->buf = malloc(XFER_BUF))) {
		rc = cairn_errf(err, CAIRN_EFAIL, "out of memory");
		goto out;
	}
	if ((rc = begin_temp(t, tname, err)))
		goto out;
	*txn = t;
	t = NULL;
out:
	if (t)
		txn_free(t);
	free(tname);
	return rc;
}

/* Hand the buffer to libssh2 until fewer than `keep` bytes are still
 * unacknowledged. libssh2 1.10 wants the unacknowledged bytes passed again
 * on each call: it skips those it already queued. */
static int txn_push(struct cairn_txn *t, size_t keep, struct cairn_error *err)
{
	struct ssh *c = t->c;
	int next;

	while (t->len - t->off > keep) {
		ssize_t n;

		if (stopped(c))
			return cairn_errf(err, CAIRN_EFAIL, "%s: upload of %s "
					  "interrupted", c->where, t->name);
		n = libssh2_sftp_write(t->h, t->buf + t->off,
				       t->len - t->off);
		if (n < 0) {
			uint64_t left = t->size == CAIRN_SIZE_UNKNOWN ||
						t->size < t->done
					? t->len - t->off
					: t->size - t->done;

			return write_err(c, t->h, left, "write", t->tmp, err);
		}
		t->off += (size_t)n;
		t->done += (uint64_t)n;
		libssh2_keepalive_send(c->s, &next);
		c->last_use = time(NULL);
	}
	/* Keep the unacknowledged tail at the front for the next round. */
	memmove(t->buf, t->buf + t->off, t->len - t->off);
	t->len -= t->off;
	t->off = 0;
	return 0;
}

static int ssh_write(struct cairn_txn *t, const void *buf, size_t len,
		     struct cairn_error *err)
{
	const char *p = buf;
	int rc;

	while (len > 0) {
		size_t n = XFER_BUF - t->len;

		if (n > len)
			n = len;
		memcpy(t->buf + t->len, p, n);
		t->len += n;
		p += n;
		len -= n;
		if (t->len == XFER_BUF) {
			rc = txn_push(t, XFER_BUF / 2, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Move tmp over dst. Without posix-rename, a name that exists already is
 * removed first (a gap, which props say: no ATOMIC_COMMIT). */
static int publish(struct ssh *c, const char *tmp, const char *dst,
		   struct cairn_error *err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;

#ifdef HAVE_POSIX_RENAME
	if (!libssh2_sftp_posix_rename_ex(c->sftp, tmp, strlen(tmp), dst,
					  strlen(dst)))
		return 0;
	if (sftp_status(c) != LIBSSH2_FX_OP_UNSUPPORTED)
		return sftp_err(c, err, "rename to", dst);
#endif
	if (!libssh2_sftp_rename_ex(c->sftp, tmp, (unsigned)strlen(tmp), dst,
				    (unsigned)strlen(dst),
				    LIBSSH2_SFTP_RENAME_OVERWRITE |
					    LIBSSH2_SFTP_RENAME_ATOMIC |
					    LIBSSH2_SFTP_RENAME_NATIVE))
		return 0;
	if (sftp_status(c) < 0 || libssh2_sftp_stat(c->sftp, dst, &a) ||
	    libssh2_sftp_unlink(c->sftp, dst) ||
	    libssh2_sftp_rename(c->sftp, tmp, dst))
		return sftp_err(c, err, "rename to", dst);
	return 0;
}

static int ssh_commit(struct cairn_txn *t, const char *sha256_hex,
		      struct cairn_error *err)
{
	struct ssh *c = t->c;
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	(void)sha256_hex; /* the core reads the object back */
	rc = txn_push(t, 0, err);
	if (rc)
		goto out;
	rc = CAIRN_EFAIL;
	if (t->size != CAIRN_SIZE_UNKNOWN && t->done != t->size) {
		cairn_errf(err, CAIRN_EFAIL, "%s: %s: %llu bytes written, "
			   "%llu announced", c->where, t->name,
			   (unsigned long long)t->done,
			   (unsigned long long)t->size);
		goto out;
	}
	if (libssh2_sftp_fsync(t->h) &&
	    sftp_status(c) != LIBSSH2_FX_OP_UNSUPPORTED) {
		rc = write_err(c, t->h, 0, "fsync", t->tmp, err);
		goto out;
	}
	rc = libssh2_sftp_close_handle(t->h);
	t->h = NULL;
	if (rc) {
		rc = write_err(c, NULL, 0, "close", t->tmp, err);
		goto out;
	}
	rc = publish(c, t->tmp, t->dst, err);
	if (rc)
		goto out;
	free(t->tmp);
	t->tmp = NULL; /* renamed: nothing left to remove */
	if (libssh2_sftp_stat(c->sftp, t->dst, &a)) {
		rc = sftp_err(c, err, "stat", t->dst);
		goto out;
	}
	if (!(a.flags & LIBSSH2_SFTP_ATTR_SIZE) || a.filesize != t->done) {
		rc = cairn_errf(err, CAIRN_EINTEGRITY,
				"%s: %s has %llu bytes on the server, %llu "
				"were sent", c->where, t->dst,
				(unsigned long long)a.filesize,
				(unsigned long long)t->done);
		goto out;
	}
	rc = 0;
out:
	txn_free(t);
	return rc;
}

static void ssh_abort(struct cairn_txn *t)
{
	txn_free(t);
}

struct clean_ctx {
	const char *prefix;
	int removed, failed;
};

/* .NAME.partial-PID with NAME starting with the prefix. */
static int clean_prefix_one(struct ssh *c, const char *ent,
			    const LIBSSH2_SFTP_ATTRIBUTES *a, void *ctx)
{
	struct clean_ctx *cc = ctx;
	size_t n = strlen(cc->prefix);
	char *p;

	if (ent[0] != '.' || strncmp(ent + 1, cc->prefix, n) ||
	    !strstr(ent + 1 + n, TMP_TAG) ||
	    !(a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
	    !LIBSSH2_SFTP_S_ISREG(a->permissions))
		return 0;
	p = rpath(c, ent);
	if (p && !libssh2_sftp_unlink(c->sftp, p)) {
		cc->removed++;
		LOG(c, CAIRN_LOG_INFO, "%s: removed %s, left by a killed run",
		    c->where, p);
	} else {
		cc->failed++;
	}
	free(p);
	return 0;
}

static int ssh_clean(void *handle, const char *prefix,
		     struct cairn_error *err)
{
	struct ssh *c = handle;
	struct clean_ctx cc = { prefix, 0, 0 };
	bool missing;
	int rc = ensure(c, err);

	if (rc)
		return rc;
	rc = walk_dir(c, clean_prefix_one, &cc, &missing, err);
	if (!rc && cc.failed)
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: could not remove %d "
				"temporary file(s) in %s", c->where, cc.failed,
				c->path);
	return rc;
}

struct list_ctx {
	cairn_list_cb cb;
	void *ctx;
	bool stop;
};

static int list_one(struct ssh *c, const char *name,
		    const LIBSSH2_SFTP_ATTRIBUTES *a, void *ctx)
{
	struct list_ctx *l = ctx;
	struct cairn_object o = { sizeof(o), name, 0, 0, NULL, 0, 0 };

	/* Dotted names are temporaries (or not ours). */
	if (name[0] == '.' || !(a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
	    !LIBSSH2_SFTP_S_ISREG(a->permissions))
		return 0;
	if (stopped(c))
		return cairn_errf(NULL, CAIRN_EFAIL, "interrupted");
	o.bytes = a->flags & LIBSSH2_SFTP_ATTR_SIZE ? a->filesize : 0;
	o.mtime = a->flags & LIBSSH2_SFTP_ATTR_ACMODTIME ? (int64_t)a->mtime
							 : 0;
	if (l->cb(l->ctx, &o)) {
		l->stop = true;
		return -1;
	}
	return 0;
}

static int ssh_list(void *handle, cairn_list_cb cb, void *ctx,
		    struct cairn_error *err)
{
	struct ssh *c = handle;
	struct list_ctx l = { cb, ctx, false };
	bool missing;
	int rc = ensure(c, err);

	if (rc)
		return rc;
	rc = walk_dir(c, list_one, &l, &missing, err);
	if (l.stop)
		return 0;
	if (rc == CAIRN_EFAIL && stopped(c))
		return cairn_errf(err, CAIRN_EFAIL, "%s: listing %s "
				  "interrupted", c->where, c->path);
	return rc;
}

/* Stream [offset, offset + length) of an open file into the sink. */
static int read_range(struct ssh *c, LIBSSH2_SFTP_HANDLE *h, const char *src,
		      uint64_t left, const struct cairn_sink *sink,
		      struct cairn_error *err)
{
	char *buf = malloc(XFER_BUF);
	int rc = CAIRN_EFAIL, next;
	ssize_t n = 0;

	if (!buf)
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	while (left > 0) {
		/* libssh2 asks for up to 4x a read's buffer ahead: a quarter
		 * of what is left keeps it from reading past the range. */
		uint64_t q = (left + 3) / 4;
		size_t want = q < XFER_BUF ? (size_t)q : XFER_BUF;

		if (want < 4096) /* the tail: a few more round trips */
			want = left < 4096 ? (size_t)left : 4096;
		if (stopped(c)) {
			cairn_errf(err, CAIRN_EFAIL, "%s: download of %s "
				   "interrupted", c->where, src);
			goto out;
		}
		n = libssh2_sftp_read(h, buf, want);
		if (n <= 0)
			break;
		rc = sink->write(sink->ctx, buf, (size_t)n);
		if (rc) {
			cairn_errf(err, rc, "%s: %s: delivery stopped",
				   c->where, src);
			goto out;
		}
		rc = CAIRN_EFAIL;
		left -= (uint64_t)n;
		libssh2_keepalive_send(c->s, &next);
		c->last_use = time(NULL);
	}
	if (n < 0) {
		rc = sftp_err(c, err, "read", src);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

static int ssh_get(void *handle, const char *name, uint64_t offset,
		   uint64_t length, const struct cairn_sink *sink,
		   struct cairn_error *err)
{
	struct ssh *c = handle;
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES a;
	uint64_t left;
	char *src = NULL;
	int rc;

	if ((rc = object_path(c, name, &src, err)))
		return rc;
	h = libssh2_sftp_open(c->sftp, src, LIBSSH2_FXF_READ, 0);
	if (!h) {
		rc = sftp_err(c, err, "open", src);
		goto out;
	}
	if (libssh2_sftp_fstat(h, &a)) {
		rc = sftp_err(c, err, "stat", src);
		goto out;
	}
	if (!(a.flags & LIBSSH2_SFTP_ATTR_SIZE)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: %s: the server reports "
				"no size", c->where, src);
		goto out;
	}
	if (offset > a.filesize) {
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: %s: offset %llu beyond "
				"its %llu bytes", c->where, src,
				(unsigned long long)offset,
				(unsigned long long)a.filesize);
		goto out;
	}
	left = a.filesize - offset;
	if (length != CAIRN_TO_END && length < left)
		left = length;
	libssh2_sftp_seek64(h, offset);
	rc = read_range(c, h, src, left, sink, err);
out:
	if (h)
		libssh2_sftp_close_handle(h);
	free(src);
	return rc;
}

static int ssh_stat(void *handle, const char *name, struct cairn_object *obj,
		    struct cairn_error *err)
{
	struct ssh *c = handle;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char *p;
	int rc;

	if ((rc = object_path(c, name, &p, err)))
		return rc;
	if (libssh2_sftp_stat(c->sftp, p, &a))
		rc = sftp_err(c, err, "stat", p);
	else if ((a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
		 !LIBSSH2_SFTP_S_ISREG(a.permissions))
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: %s is not a regular "
				"file", c->where, p);
	else if (!(a.flags & LIBSSH2_SFTP_ATTR_SIZE))
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: %s: the server reports "
				"no size", c->where, p);
	if (!rc) {
		if (CAIRN_HAS(obj, struct cairn_object, bytes))
			obj->bytes = a.filesize;
		if (CAIRN_HAS(obj, struct cairn_object, mtime))
			obj->mtime = a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME
					     ? (int64_t)a.mtime
					     : 0;
	}
	free(p);
	return rc;
}

static int ssh_del(void *handle, const char *name, struct cairn_error *err)
{
	struct ssh *c = handle;
	char *p;
	int rc;

	if ((rc = object_path(c, name, &p, err)))
		return rc;
	rc = libssh2_sftp_unlink(c->sftp, p) ? sftp_err(c, err, "remove", p)
					     : 0;
	free(p);
	return rc;
}

/* statvfs@openssh.com of the path, or of its nearest existing parent
 * while the path is still to be created. */
static int ssh_space(void *handle, struct cairn_space *sp,
		     struct cairn_error *err)
{
	struct ssh *c = handle;
	LIBSSH2_SFTP_STATVFS v;
	char *p, *slash;
	int rc = ensure(c, err);

	if (rc)
		return rc;
	if (!(p = strdup(c->path)))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	while (libssh2_sftp_statvfs(c->sftp, p, strlen(p), &v)) {
		rc = sftp_err(c, err, "statvfs", p);
		if (rc != CAIRN_ENOTFOUND)
			goto out;
		slash = strrchr(p, '/');
		if (!slash || slash == p) {
			strcpy(p, slash ? "/" : ".");
			if (!libssh2_sftp_statvfs(c->sftp, p, strlen(p), &v))
				break;
			rc = sftp_err(c, err, "statvfs", p);
			goto out;
		}
		*slash = '\0';
	}
	rc = 0;
	if (!v.f_blocks) {
		rc = cairn_errf(err, CAIRN_EFAIL, "%s: the server reports no "
				"free space for %s", c->where, c->path);
		goto out;
	}
	if (CAIRN_HAS(sp, struct cairn_space, block_size))
		sp->block_size = v.f_frsize > UINT32_MAX ? 0
							 : (uint32_t)v.f_frsize;
	if (CAIRN_HAS(sp, struct cairn_space, free_bytes))
		sp->free_bytes = v.f_bavail * v.f_frsize;
	if (CAIRN_HAS(sp, struct cairn_space, total_bytes))
		sp->total_bytes = v.f_blocks * v.f_frsize;
out:
	free(p);
	return rc;
}

static int ssh_check(void *handle, struct cairn_error *err)
{
	struct ssh *c = handle;
	bool exists;
	long long fs;
	int rc = ensure(c, err), d;

	if (rc)
		return rc;
	d = is_dir(c, c->path, &exists);
	if (d < 0)
		return sftp_err(c, err, "stat", c->path);
	if (exists && !d)
		return cairn_errf(err, CAIRN_EFAIL, "%s: %s is not a "
				  "directory", c->where, c->path);
	fs = exists ? free_space(c, NULL) : -1;
	if (fs >= 0)
		cairn_errf(err, 0, "sftp %s path %s: %.1f GiB free", c->where,
			   c->path, (double)fs / (1 << 30));
	else
		cairn_errf(err, 0, "sftp %s path %s: %s", c->where, c->path,
			   exists ? "reachable" : "reachable, path will be "
						  "created");
	return 0;
}

/* ---- open / close ----------------------------------------------------- */

static void ssh_close(void *handle)
{
	struct ssh *c = handle;

	if (!c)
		return;
	disconnect(c);
	if (c->lib_init)
		libssh2_exit();
	if (c->passphrase) {
		explicit_bzero(c->passphrase, strlen(c->passphrase));
		free(c->passphrase);
	}
	free(c->hostname);
	free(c->user);
	free(c->path);
	free(c);
}

/* Only what the key specs cannot say: the identity's and passphrase's
 * files, the remote path's form. */
static int read_config(struct ssh *c, struct cairn_error *err)
{
	const struct cairn_target_config *cfg = c->cfg;
	const char *v, *pf;
	struct passwd *pw;
	size_t n;
	int rc;

	c->port = (int)cfg->get_int(cfg, "port");
	c->connect_timeout = (int)cfg->get_duration(cfg, "connect_timeout");
	c->timeout = (int)cfg->get_duration(cfg, "timeout");
	c->keepalive = (int)cfg->get_duration(cfg, "keepalive");
	c->agent = cfg->get_bool(cfg, "agent");
	c->accept_new = cfg->get_bool(cfg, "accept_new_host_key");
	c->known_hosts = cfg->get_str(cfg, "known_hosts");
	c->identity = cfg->get_str(cfg, "identity");
	if (!(v = cfg->get_str(cfg, "host")) || !*v)
		return cairn_errf(err, CAIRN_ECONFIG, "host: required");
	c->hostname = strdup(v);
	if ((v = cfg->get_str(cfg, "user"))) {
		c->user = strdup(v);
	} else {
		pw = getpwuid(geteuid());
		c->user = strdup(pw ? pw->pw_name : "root");
	}
	if (!(v = cfg->get_str(cfg, "path")) || !*v)
		return cairn_errf(err, CAIRN_ECONFIG, "path: required");
	/* SFTP resolves relative paths against the login directory. */
	c->path = strdup(strncmp(v, "~/", 2) ? v : v + 2);
	if (!c->hostname || !c->user || !c->path)
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	n = strlen(c->path);
	while (n > 1 && c->path[n - 1] == '/')
		c->path[--n] = '\0';
	if (!c->known_hosts)
		return cairn_errf(err, CAIRN_ECONFIG, "known_hosts: required");
	if (c->identity) {
		rc = check_private("identity", c->identity, err);
		if (rc)
			return rc;
	} else if (!c->agent) {
		return cairn_errf(err, CAIRN_ECONFIG, "identity: required (a "
				  "private key file), unless agent = yes");
	}
	pf = cfg->get_str(cfg, "passphrase_file");
	v = cfg->get_str(cfg, "passphrase");
	if (pf && v)
		return cairn_errf(err, CAIRN_ECONFIG, "passphrase_file and "
				  "passphrase: set only one");
	if (pf)
		return read_passphrase(c, pf, err);
	if (v && !(c->passphrase = strdup(v)))
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	return 0;
}

static int ssh_open(const struct cairn_host *host,
		    const struct cairn_target_config *cfg,
		    struct cairn_target_props *props, void **handle,
		    struct cairn_error *err)
{
	struct ssh *c = calloc(1, sizeof(*c));
	LIBSSH2_SFTP_STATVFS v;
	int rc;

	*handle = NULL;
	if (!c)
		return cairn_errf(err, CAIRN_EFAIL, "out of memory");
	c->hs = host;
	c->cfg = cfg;
	c->sock = -1;
	rc = read_config(c, err);
	if (rc)
		goto out;
	if (c->port == 22)
		snprintf(c->khname, sizeof(c->khname), "%s", c->hostname);
	else
		snprintf(c->khname, sizeof(c->khname), "[%s]:%d",
			 c->hostname, c->port);
	snprintf(c->where, sizeof(c->where), "%s@%s:%d", c->user,
		 c->hostname, c->port);
	if (libssh2_init(0)) {
		rc = cairn_errf(err, CAIRN_EFAIL, "libssh2_init failed");
		goto out;
	}
	c->lib_init = true;
	rc = do_connect(c, err);
	if (rc)
		goto out;
	c->last_use = time(NULL);
	props->flags = CAIRN_PROP_RANGED_GET;
#ifdef HAVE_POSIX_RENAME
	props->flags |= CAIRN_PROP_ATOMIC_COMMIT;
#endif
	/* statvfs@openssh.com answers for the login directory. */
	if (!libssh2_sftp_statvfs(c->sftp, ".", 1, &v) && v.f_blocks)
		props->flags |= CAIRN_PROP_SPACE;
	/* Each handle is its own SSH connection; OpenSSH's MaxStartups
	 * throttles beyond 10 unauthenticated ones. */
	if (CAIRN_HAS(props, struct cairn_target_props, max_handles))
		props->max_handles = 4;
out:
	if (rc)
		ssh_close(c);
	else
		*handle = c;
	return rc;
}

static const struct cairn_target_ops ssh_ops = {
	CAIRN_TARGET_OPS_HEAD,
	.name = "ssh",
	.version = PACKAGE_VERSION,
	.keys = ssh_keys,
	.open = ssh_open,
	.close = ssh_close,
	.begin = ssh_begin,
	.write = ssh_write,
	.commit = ssh_commit,
	.abort = ssh_abort,
	.get = ssh_get,
	.stat = ssh_stat,
	.list = ssh_list,
	.del = ssh_del,
	.clean = ssh_clean,
	.check = ssh_check,
	.space = ssh_space,
};

const struct cairn_target_ops *cairn_target_plugin(void)
{
	return &ssh_ops;
}
