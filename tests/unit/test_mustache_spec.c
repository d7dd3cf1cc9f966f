/* Run the official Mustache spec found in $HERALD_SHARED/mustache-spec. */
#include "autoconf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "mustache.h"
#include "value.h"
#include "xmalloc.h"

struct partials {
	const struct value	 *map;		/* name -> source */
	char			**names;
	struct mustache_tmpl	**tmpls;
	size_t			  n;
};

/* Read one YAML node (the event just parsed) into a value; NULL on error. */
static struct value *
spec_node(yaml_parser_t *p, yaml_event_t *ev, const char *file)
{
	struct value	*v = NULL, *item;
	yaml_event_t	 e;
	char		*key;
	const char	*tag;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		tag = (const char *)ev->data.scalar.tag;
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    tag == NULL)
			v = value_from_plain_scalar(
			    (const char *)ev->data.scalar.value,
			    ev->data.scalar.length);
		else
			v = value_string((const char *)ev->data.scalar.value,
			    ev->data.scalar.length);
		break;
	case YAML_SEQUENCE_START_EVENT:
		v = value_list();
		for (;;) {
			if (!yaml_parser_parse(p, &e))
				goto fail;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			item = spec_node(p, &e, file);
			yaml_event_delete(&e);
			if (item == NULL)
				goto fail;
			value_list_push(v, item);
		}
		break;
	case YAML_MAPPING_START_EVENT:
		v = value_map();
		for (;;) {
			if (!yaml_parser_parse(p, &e))
				goto fail;
			if (e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			if (e.type != YAML_SCALAR_EVENT) {
				fprintf(stderr, "%s:%zu: non-scalar key\n", file,
				    e.start_mark.line + 1);
				yaml_event_delete(&e);
				goto fail;
			}
			key = xstrdup((const char *)e.data.scalar.value);
			yaml_event_delete(&e);
			if (!yaml_parser_parse(p, &e)) {
				free(key);
				goto fail;
			}
			/* Lambdas (!code) are not supported: leave them out. */
			if (e.type == YAML_MAPPING_START_EVENT &&
			    e.data.mapping_start.tag != NULL &&
			    strcmp((char *)e.data.mapping_start.tag,
			    "!code") == 0) {
				item = spec_node(p, &e, file);
				value_free(item);
				yaml_event_delete(&e);
				free(key);
				continue;
			}
			item = spec_node(p, &e, file);
			yaml_event_delete(&e);
			if (item == NULL) {
				free(key);
				goto fail;
			}
			value_map_set(v, key, item);
			free(key);
		}
		break;
	default:
		fprintf(stderr, "%s:%zu: unsupported YAML (alias?)\n", file,
		    ev->start_mark.line + 1);
		return NULL;
	}
	if (v != NULL) {
		v->line = ev->start_mark.line + 1;
		v->col = ev->start_mark.column + 1;
	}
	return v;
fail:
	if (p->error != YAML_NO_ERROR)
		fprintf(stderr, "%s:%zu: %s\n", file, p->problem_mark.line + 1,
		    p->problem ? p->problem : "YAML error");
	value_free(v);
	return NULL;
}

static struct value *
spec_load(const char *path)
{
	yaml_parser_t	 p;
	yaml_event_t	 e;
	FILE		*f;
	struct value	*v = NULL;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return NULL;
	}
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	for (;;) {
		if (!yaml_parser_parse(&p, &e)) {
			fprintf(stderr, "%s:%zu: %s\n", path,
			    p.problem_mark.line + 1,
			    p.problem ? p.problem : "YAML error");
			break;
		}
		if (e.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		if (e.type == YAML_SCALAR_EVENT ||
		    e.type == YAML_SEQUENCE_START_EVENT ||
		    e.type == YAML_MAPPING_START_EVENT) {
			v = spec_node(&p, &e, path);
			yaml_event_delete(&e);
			break;
		}
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&p);
	fclose(f);
	return v;
}

/* The partial callback: parse each partial once, on first use. */
static const struct mustache_tmpl *
spec_partial(void *arg, const char *name)
{
	struct partials		*ps = arg;
	const struct value	*src;
	struct mustache_tmpl	*t;
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->names[i], name) == 0)
			return ps->tmpls[i];
	src = value_map_get(ps->map, name);
	if (src == NULL || src->type != VALUE_STRING)
		return NULL;
	t = mustache_parse(name, src->u.str.s, src->u.str.len, &cause);
	if (t == NULL) {
		fprintf(stderr, "partial %s: %s\n", name, cause);
		free(cause);
	}
	ps->names = xreallocarray(ps->names, ps->n + 1, sizeof(*ps->names));
	ps->tmpls = xreallocarray(ps->tmpls, ps->n + 1, sizeof(*ps->tmpls));
	ps->names[ps->n] = xstrdup(name);
	ps->tmpls[ps->n++] = t;
	return t;
}

static void
spec_show(const char *what, const char *s)
{
	printf("    %s: \"", what);
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			printf("\\n");
		else if (*s == '\r')
			printf("\\r");
		else if (*s == '\t')
			printf("\\t");
		else
			putchar(*s);
	}
	printf("\"\n");
}

/* Run one test; 0 when it passes. */
static int
spec_test(const char *file, const struct value *test)
{
	const struct value	*name, *data, *tmpl, *expected;
	const struct value	*stack[1];
	struct partials		 ps;
	struct mustache_tmpl	*t;
	struct buf		 out = BUF_INIT;
	char			*cause = NULL;
	size_t			 i;
	int			 rc = -1;

	memset(&ps, 0, sizeof(ps));
	name = value_map_get(test, "name");
	data = value_map_get(test, "data");
	tmpl = value_map_get(test, "template");
	expected = value_map_get(test, "expected");
	ps.map = value_map_get(test, "partials");
	if (name == NULL || name->type != VALUE_STRING || tmpl == NULL ||
	    tmpl->type != VALUE_STRING || expected == NULL ||
	    expected->type != VALUE_STRING) {
		printf("  %s:%zu: malformed test\n", file, test->line);
		return -1;
	}
	t = mustache_parse(name->u.str.s, tmpl->u.str.s, tmpl->u.str.len,
	    &cause);
	if (t == NULL) {
		printf("  FAIL %s: parse error: %s\n", name->u.str.s, cause);
		goto out;
	}
	stack[0] = data;
	if (mustache_render(t, stack, data != NULL ? 1 : 0, 0, spec_partial,
	    &ps, &out, &cause) == -1) {
		printf("  FAIL %s: render error: %s\n", name->u.str.s, cause);
		goto out;
	}
	if (out.len != expected->u.str.len ||
	    memcmp(buf_cstr(&out), expected->u.str.s, out.len) != 0) {
		printf("  FAIL %s\n", name->u.str.s);
		spec_show("template", tmpl->u.str.s);
		spec_show("expected", expected->u.str.s);
		spec_show("got     ", buf_cstr(&out));
		goto out;
	}
	rc = 0;
out:
	mustache_free(t);
	for (i = 0; i < ps.n; i++) {
		free(ps.names[i]);
		mustache_free(ps.tmpls[i]);
	}
	free(ps.names);
	free(ps.tmpls);
	free(cause);
	buf_free(&out);
	return rc;
}

static int
spec_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	const char		*shared;
	char			*dir, *path, **files = NULL;
	DIR			*d;
	struct dirent		*de;
	struct value		*spec;
	const struct value	*tests;
	size_t			 nfiles = 0, i, k, len, pass, fail;
	size_t			 tpass = 0, tfail = 0;

	if ((shared = getenv("HERALD_SHARED")) == NULL)
		shared = "../shared";
	xasprintf(&dir, "%s/mustache-spec", shared);
	if ((d = opendir(dir)) == NULL) {
		printf("SKIP: no Mustache spec at %s (set HERALD_SHARED)\n",
		    dir);
		free(dir);
		return 77;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".yml") != 0)
			continue;
		files = xreallocarray(files, nfiles + 1, sizeof(*files));
		files[nfiles++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nfiles == 0) {
		printf("SKIP: no *.yml in %s\n", dir);
		free(dir);
		return 77;
	}
	qsort(files, nfiles, sizeof(*files), spec_cmp);
	for (i = 0; i < nfiles; i++) {
		xasprintf(&path, "%s/%s", dir, files[i]);
		pass = fail = 0;
		spec = spec_load(path);
		tests = value_map_get(spec, "tests");
		if (tests == NULL || tests->type != VALUE_LIST) {
			printf("%s: no tests list\n", files[i]);
			fail++;
		} else {
			for (k = 0; k < tests->u.list.n; k++) {
				if (spec_test(files[i], tests->u.list.v[k]) ==
				    0)
					pass++;
				else
					fail++;
			}
		}
		printf("%s: %zu passed, %zu failed\n", files[i], pass, fail);
		tpass += pass;
		tfail += fail;
		value_free(spec);
		free(path);
		free(files[i]);
	}
	free(files);
	free(dir);
	printf("total: %zu passed, %zu failed\n", tpass, tfail);
	return tfail > 0 ? 1 : 0;
}
