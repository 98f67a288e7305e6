/* `cairn keygen [-o FILE]`: a new age X25519 identity, in the format
 * age-keygen writes, so age -d -i, age-keygen -y and cairn read it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cairn.h"

/* The file's text: created and public key comments, then the key. */
static char *identity_text(char **recipient)
{
	uint8_t sk[32], pk[32];
	char when[32], *id, *text = NULL;

	*recipient = NULL;
	if (RAND_bytes(sk, sizeof(sk)) != 1 || age_public_key(sk, pk))
		goto out;
	fmt_utc(time(NULL), when);
	id = age_identity_string(sk);
	*recipient = age_recipient_string(pk);
	text = xasprintf("# created: %s\n# public key: %s\n%s\n", when,
			 *recipient, id);
	OPENSSL_clear_free(id, strlen(id));
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	return text;
}

/* Write text to path, 0600, never over an existing file and never a
 * partial one: a temporary file in the same directory, linked in. */
static int write_new(const char *path, const char *text,
		     struct cairn_error *err)
{
	char *dir = dir_of(path);
	char *tmp = path_join(dir, ".cairn-keygen.XXXXXX");
	size_t len = strlen(text);
	int rc = CAIRN_EFAIL, fd = mkstemp(tmp);

	if (fd < 0) {
		errno_err(err, CAIRN_EFAIL, errno, "%s", path);
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		errno_err(err, CAIRN_EFAIL, errno, "%s", path);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (link(tmp, path)) {
		errno_err(err, CAIRN_EFAIL, errno, errno == EEXIST ?
			  "%s: exists; not overwriting it" : "%s", path);
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	fsync_dir(dir);
	rc = CAIRN_OK;
out:
	free(tmp);
	free(dir);
	return rc;
}

int cmd_keygen(const char *out, bool json)
{
	struct cairn_error err = { 0, "" };
	char *recipient, *text = identity_text(&recipient);
	int rc = CAIRN_EFAIL;

	if (!text) {
		fprintf(stderr, "cairn keygen: libcrypto cannot make a key\n");
		goto out;
	}
	if (out && (rc = write_new(out, text, &err))) {
		fprintf(stderr, "cairn keygen: %s\n", err.msg);
		goto out;
	}
	if (json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "schema", json_object_new_int(1));
		json_object_object_add(j, "recipient",
				       json_object_new_string(recipient));
		json_object_object_add(j, out ? "identity_file" : "identity",
				       json_object_new_string(out ? out
								  : text));
		puts(json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		/* age-keygen: without -o the file goes to stdout. */
		fputs(out ? recipient : text, stdout);
		if (out)
			putchar('\n');
	}
	rc = fflush(stdout) ? CAIRN_EFAIL : CAIRN_OK;
out:
	if (text)
		OPENSSL_clear_free(text, strlen(text));
	free(recipient);
	return rc_exit(rc);
}
