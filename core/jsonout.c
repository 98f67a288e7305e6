/* --json documents: one object per command, {"schema": 1, ...}; the
 * schema of each is in cairn(1). */
#include "config.h"

#include <stdio.h>

#include <json-c/json.h>

#include "cairn.h"

json_object *json_doc(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "schema", json_object_new_int(1));
	return o;
}

void json_emit(json_object *o, bool line)
{
	printf("%s\n", json_object_to_json_string_ext(o, (line ?
	       JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY) |
	       JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

json_object *json_str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}
