/* The component types: a type's operations, from its enum value. Adding
 * a type: its comp_TYPE.c, a line here, one in config.c's table. */
#include "config.h"

#include <string.h>

#include "cairn.h"

const struct comp_ops *comp_ops(enum comp_type t)
{
	static const struct comp_ops *const ops[] = {
		[COMP_FILES] = &comp_files_ops,
		[COMP_SQLITE] = &comp_sqlite_ops,
		[COMP_COMMAND] = &comp_command_ops,
	};

	return ops[t];
}

/* restore --path: the named paths as one files component. */
void comp_paths_init(struct component *c)
{
	memset(c, 0, sizeof(*c));
	c->name = "path";
	c->type = COMP_FILES;
	c->required = true;
}
