/* Writes sample messages (and what went into them) for tests/mime-oracle.py. */
#include "autoconf.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "mime.h"
#include "xmalloc.h"

static const char *const khmer_subject =
    "សួស្តី ពិភពលោក — ព្រឹត្តិបត្រ R2P ខែមីនា";

/* A fake PNG: a signature then bytes of every value. */
static void
sample_png(struct buf *b)
{
	int	i;

	buf_add(b, "\x89PNG\r\n\x1a\n", 8);
	for (i = 0; i < 3000; i++)
		buf_addc(b, (char)(i * 7 + (i >> 8)));
}

static void
json_str(FILE *fp, const char *s)
{
	if (s == NULL) {
		fputs("null", fp);
		return;
	}
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
write_sample(const char *dir, const char *name, struct mime_message *m,
    const char *attach_name, const char *cid)
{
	struct buf	 out = BUF_INIT;
	char		*path, *cause, *mid;
	FILE		*fp;

	mid = mime_message_id(42, 7, "r2p.example",
	    (const unsigned char *)"k", 1);
	m->message_id = mid;
	if (m->text_len == 0)
		m->text_len = strlen(m->text);
	if (m->html != NULL && m->html_len == 0)
		m->html_len = strlen(m->html);
	if (mime_build(m, &out, &cause) != 0)
		errx(1, "%s: %s", name, cause);
	path = xsprintf("%s/%s.eml", dir, name);
	if ((fp = fopen(path, "wb")) == NULL)
		err(1, "%s", path);
	fwrite(out.data, 1, out.len, fp);
	if (fclose(fp) != 0)
		err(1, "%s", path);
	free(path);
	path = xsprintf("%s/%s.json", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	fputs("{\"subject\": ", fp);
	json_str(fp, m->subject);
	fputs(", \"from_name\": ", fp);
	json_str(fp, m->from_name);
	fputs(", \"to_name\": ", fp);
	json_str(fp, m->to_name);
	fputs(", \"list_title\": ", fp);
	json_str(fp, m->list_title);
	fputs(", \"text\": ", fp);
	json_str(fp, m->text);
	fputs(", \"html\": ", fp);
	json_str(fp, m->html);
	fputs(", \"attachment\": ", fp);
	json_str(fp, attach_name);
	fputs(", \"cid\": ", fp);
	json_str(fp, cid);
	fputs("}\n", fp);
	if (fclose(fp) != 0)
		err(1, "%s", path);
	free(path);
	free(mid);
	buf_free(&out);
}

static void
base_message(struct mime_message *m)
{
	memset(m, 0, sizeof(*m));
	m->from_name = "Friends of R2P";
	m->from_addr = "news@r2p.example";
	m->to_name = "Dara Sok";
	m->to_addr = "dara@example.org";
	m->subject = "Spotlight on R2P: March bulletin";
	m->date = 1774000000;
	m->zone_minutes = 420;
	m->list_title = "Spotlight on R2P";
	m->list_id = "spotlight.r2p.example";
	m->unsub_url = "https://r2p.example/u/"
	    "AQEAAAAAAAAABwAAACoAAABpZ0tkVm9hbmRvbWJ5dGVzMTIzNA";
	m->unsub_mailto = "mailto:unsubscribe@r2p.example?subject=unsubscribe";
	m->text = "Dear reader,\n\nThe bulletin is here.\n"
	    "From the editors: a line that starts with From.\n"
	    ".\n"
	    "Trailing space here   \n"
	    "Equals = sign and a tab\there.\n"
	    "A very long line that goes on and on well past the seventy-six "
	    "character limit of quoted-printable so that it must be broken "
	    "with soft line breaks, several times in fact, to stay legal.\n";
	m->html = "<html><body><p>Dear reader,</p>\n<p>The bulletin is "
	    "<b>here</b>.</p></body></html>\n";
}

static void
samples(const char *dir)
{
	struct mime_message	 m;
	struct mime_part	*img, *doc;
	struct mime_header	 extra[] = {
		{ "X-Herald-Issue", "42" },
		{ "Precedence", "bulk" }
	};
	struct buf		 png = BUF_INIT;
	char			 longsub[2048];
	char			*cause;
	const char		*khfile = "របាយការណ៍ប្រចាំខែ.pdf";
	size_t			 i;

	base_message(&m);
	m.extra = extra;
	m.nextra = 2;
	m.reply_to_addr = "editors@r2p.example";
	m.reply_to_name = "The Editors";
	write_sample(dir, "ascii", &m, NULL, NULL);

	base_message(&m);
	m.subject = "Café au lait — naïve résumé, «déjà vu»";
	m.from_name = "José Müller";
	m.to_name = "Smith, John (R2P) \"JS\"";
	m.text = "Voilà l'été à Genève: 10 € = dix euros.\nÀ bientôt\n";
	m.html = "<p>Voilà l'été à Genève</p>";
	write_sample(dir, "latin", &m, NULL, NULL);

	base_message(&m);
	m.subject = khmer_subject;
	m.from_name = "មិត្តភក្តិ R2P កម្ពុជា";
	m.to_name = "សុខ ស្រីនិច្ច";
	m.list_title = "ព្រឹត្តិបត្រ R2P";
	m.text = "សួស្តី ពិភពលោក\nការការពារប្រជាជនស៊ីវិល ក្សត្រ ស្ត្រី "
	    "ព្រឹត្តិការណ៍ ក្នុងឆ្នាំ ២០២៦។\n";
	m.html = "<p lang=\"km\">សួស្តី ពិភពលោក</p>";
	write_sample(dir, "khmer", &m, NULL, NULL);

	base_message(&m);
	m.subject = "News 📰 and 🎉 for you 👩‍👩‍👧‍👦 🇰🇭!";
	m.to_name = "Émilie 😀";
	m.text = "Emoji 👍🏽 in the body 🇰🇭\n";
	write_sample(dir, "emoji", &m, NULL, NULL);

	base_message(&m);
	longsub[0] = '\0';
	for (i = 0; strlen(longsub) + 200 < sizeof(longsub) &&
	    i < 12; i++)
		strcat(longsub, i % 3 == 2 ? "Responsibility to Protect "
		    : "ការទទួលខុសត្រូវ ក្នុងការការពារ ");
	strcat(longsub, "end");
	m.subject = longsub;
	write_sample(dir, "long", &m, NULL, NULL);

	base_message(&m);
	memset(longsub, 'x', 1200);
	memcpy(longsub, "see ", 4);
	strcpy(longsub + 1200, " end");
	m.subject = longsub;
	write_sample(dir, "longword", &m, NULL, NULL);

	sample_png(&png);
	if ((img = mime_part_new("image/png", MIME_INLINE, "logo.png",
	    "logo@r2p.example", png.data, png.len, &cause)) == NULL)
		errx(1, "image: %s", cause);
	if ((doc = mime_part_new("application/pdf", MIME_ATTACHMENT, khfile,
	    NULL, png.data, png.len, &cause)) == NULL)
		errx(1, "attachment: %s", cause);

	base_message(&m);
	m.html = "<p><img src=\"cid:logo@r2p.example\" alt=\"logo\"></p>";
	m.inlines = &img;
	m.ninlines = 1;
	write_sample(dir, "inline", &m, NULL, "logo@r2p.example");

	base_message(&m);
	m.subject = khmer_subject;
	m.inlines = &img;
	m.ninlines = 1;
	m.html = "<p><img src=\"cid:logo@r2p.example\" alt=\"logo\"></p>";
	m.attachments = &doc;
	m.nattachments = 1;
	write_sample(dir, "attach", &m, khfile, "logo@r2p.example");

	base_message(&m);
	m.html = NULL;
	m.text = "No newline at the end";
	write_sample(dir, "textonly", &m, NULL, NULL);

	mime_part_free(img);
	mime_part_free(doc);
	buf_free(&png);
}

/* Render n messages of a ~30 KB newsletter and print the rate. */
static void
bench(long n, int khmer)
{
	struct mime_message	 m;
	struct mime_part	*img;
	struct buf		 text = BUF_INIT, html = BUF_INIT, out = BUF_INIT;
	struct buf		 png = BUF_INIT;
	struct timespec		 t0, t1;
	char			*cause, *mid;
	double			 secs;
	long			 i;
	size_t			 total = 0;

	while (text.len < 10000)
		buf_adds(&text, khmer ? "The Responsibility to Protect: "
		    "ការទទួលខុសត្រូវ ក្នុងការការពារ, a bulletin line.\n" :
		    "The Responsibility to Protect: a bulletin line of "
		    "ordinary length, with a comma.\n");
	while (html.len < 20000)
		buf_adds(&html, khmer ? "<p style=\"margin:0 0 12px 0\">The "
		    "Responsibility to Protect: ការទទួលខុសត្រូវ <a href=\""
		    "https://r2p.example/a/x\">more</a></p>\n" :
		    "<p style=\"margin:0 0 12px 0\">The Responsibility to "
		    "Protect: an ordinary paragraph <a href=\""
		    "https://r2p.example/a/x\">more</a></p>\n");
	sample_png(&png);
	img = mime_part_new("image/png", MIME_INLINE, "logo.png",
	    "logo@r2p.example", png.data, png.len, &cause);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (i = 0; i < n; i++) {
		base_message(&m);
		m.subject = khmer_subject;
		m.text = text.data;
		m.text_len = text.len;
		m.html = html.data;
		m.html_len = html.len;
		m.inlines = &img;
		m.ninlines = 1;
		mid = mime_message_id(42, i, "r2p.example",
		    (const unsigned char *)"key", 3);
		m.message_id = mid;
		buf_reset(&out);
		if (mime_build(&m, &out, &cause) != 0)
			errx(1, "%s", cause);
		total += out.len;
		free(mid);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s: %ld messages of %zu bytes (bodies %zu) in %.3f s of CPU: "
	    "%.0f messages/s\n", khmer ? "Khmer and English" : "English",
	    n, total / (size_t)n, text.len + html.len, secs,
	    (double)n / secs);
	mime_part_free(img);
	buf_free(&text);
	buf_free(&html);
	buf_free(&out);
	buf_free(&png);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-b") == 0) {
		bench(atol(argv[2]), 0);
		bench(atol(argv[2]), 1);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: mime_sample DIR | mime_sample -b N\n");
		return 64;
	}
	samples(argv[1]);
	return 0;
}
