/* Test-only: core/age.c from the shell, stdin to stdout.
 *   age-tool encrypt [-r RECIPIENT]... [-R FILE] [-p PASSFILE]
 *   age-tool decrypt [-i IDENTITY_FILE]... [-p PASSFILE]
 * Exit 1 with one line on stderr when it fails. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn.h"

static int out_sink(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	return fwrite(buf, 1, len, stdout) == len ? CAIRN_OK : CAIRN_EFAIL;
}

static int keys(int argc, char **argv, struct age_recipients *r,
		struct age_identities *ids, struct cairn_error *err)
{
	int c, rc = CAIRN_OK;
	char *s, *pass;

	while (!rc && (c = getopt(argc, argv, "r:R:i:p:")) != -1) {
		switch (c) {
		case 'r':
			rc = age_recipients_parse(r, optarg, "-r", err);
			break;
		case 'R':
			if (!(s = read_file(optarg, NULL)))
				return errno_err(err, CAIRN_EFAIL, errno,
						 "%s", optarg);
			rc = age_recipients_parse(r, s, optarg, err);
			free(s);
			break;
		case 'i':
			rc = age_identities_load(ids, optarg, err);
			break;
		case 'p':
			if (!(rc = age_passphrase_load(&pass, optarg, err))) {
				r->passphrase = xstrdup(pass);
				strv_push(&ids->passphrases, pass);
				free(pass);
			}
			break;
		default:
			return cairn_errf(err, CAIRN_ECONFIG, "bad option");
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct age_recipients r = { 0 };
	struct age_identities ids = { 0 };
	struct cairn_error err = { 0, "" };
	static char buf[1 << 16];
	bool enc = argc > 1 && !strcmp(argv[1], "encrypt");
	struct age_enc e;
	struct age_dec d;
	size_t n;
	int rc;

	if (argc < 2 || (!enc && strcmp(argv[1], "decrypt"))) {
		fprintf(stderr, "usage: age-tool encrypt|decrypt ...\n");
		return 2;
	}
	if ((rc = keys(argc - 1, argv + 1, &r, &ids, &err)))
		goto out;
	rc = enc ? age_enc_begin(&e, &r, out_sink, NULL, &err)
		 : age_dec_begin(&d, &ids, out_sink, NULL);
	while (!rc && (n = fread(buf, 1, sizeof(buf), stdin)))
		rc = enc ? age_enc_write(&e, buf, n)
			 : age_dec_write(&d, buf, n);
	if (rc)
		err = enc ? e.err : d.err;
	else
		rc = enc ? age_enc_finish(&e, &err) : age_dec_finish(&d, &err);
	if (enc)
		age_enc_free(&e);
	else
		age_dec_free(&d);
out:
	if (rc)
		fprintf(stderr, "age-tool: %s\n", err.msg);
	age_recipients_free(&r);
	age_identities_free(&ids);
	if (rc == CAIRN_ECONFIG)
		return 2;
	return rc || fflush(stdout) ? 1 : 0;
}
