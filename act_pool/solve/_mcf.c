/* Primal network simplex for min-cost flow on int64 arrays.
 *
 * A line-by-line port of networkx's ``network_simplex`` (networkx/algorithms/flow/networksimplex.py,
 * itself after Kiraly & Kovacs, "Efficient implementations of minimum-cost flow algorithms", 2012):
 * an artificial root joined to every node by an arc of cost and capacity ``faux_inf`` gives a
 * strongly feasible first spanning tree; entering arcs are chosen by block search (blocks of
 * ceil(sqrt(m)) arcs, the most negative reduced cost in the first block that has one), the leaving
 * arc is the last arc of least residual capacity on the cycle, and the tree is kept as parent,
 * subtree size and a depth-first thread. Every choice and tie-break is networkx's, so on the same
 * arrays both return the same flow.
 *
 * The caller (act_pool.solve.mincost) guarantees that no value can leave int64: it computes, in
 * Python integers, the largest potential and reduced cost the method can reach and solves in stages
 * with small costs when that bound is too large. Unbounded arcs carry capacity -1 on input.
 *
 * Interface: network_simplex(tail, head, capacity, cost, demand, faux_inf, flow, potential) -> int
 * with int64 buffers (numpy arrays), tail/head/capacity/cost/flow of length m and demand/potential
 * of length n (demand = inflow - outflow, networkx's sign). Returns 0 when optimal and 1 when no
 * flow meets the demands. ``flow`` and ``potential`` are written (potential: networkx's node
 * potentials, so the reduced cost of arc a is cost[a] - potential[tail[a]] + potential[head[a]]).
 *
 * network_simplex_stages(tail, head, capacity, costs, demand, faux_infs, flow, potential) -> int
 * solves k cost vectors one after the other (``costs``: k x m, row by row; ``faux_infs``: k), each
 * on the optimal face of those before: once a stage is optimal, every real arc off the tree whose
 * reduced cost is not zero carries its bound in every optimum of the stages so far and is fixed
 * there (never priced again; tree arcs have reduced cost zero), the potentials are recomputed along
 * the tree under the next costs, and the pivots go on from that tree. With k = 1 it is
 * network_simplex. Returns 2 where an arc without capacity would have to be fixed full.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NONE (-1)

typedef struct {
    int64_t n, m, e;            /* nodes, arcs incl. artificial, real arcs */
    int64_t *S, *T, *U, *C, *x; /* arc tail, head, capacity, cost, flow */
    int64_t *pi, *parent, *pedge, *size, *next, *prev, *last;
    int64_t *Wn, *We, *tn, *te; /* cycle buffers */
    int64_t nWn, nWe;
    char *fixed;                /* real arcs fixed by an earlier stage (never priced), or NULL */
} NS;

static int64_t reduced_cost(const NS *g, int64_t i)
{
    int64_t c = g->C[i] - g->pi[g->S[i]] + g->pi[g->T[i]];
    return g->x[i] == 0 ? c : -c;
}

static int64_t residual(const NS *g, int64_t i, int64_t p)
{
    return g->S[i] == p ? g->U[i] - g->x[i] : g->x[i];
}

static int64_t find_apex(const NS *g, int64_t p, int64_t q)
{
    int64_t sp = g->size[p], sq = g->size[q];
    for (;;) {
        while (sp < sq) { p = g->parent[p]; sp = g->size[p]; }
        while (sp > sq) { q = g->parent[q]; sq = g->size[q]; }
        if (sp == sq) {
            if (p != q) {
                p = g->parent[p]; sp = g->size[p];
                q = g->parent[q]; sq = g->size[q];
            } else {
                return p;
            }
        }
    }
}

static void find_cycle(NS *g, int64_t i, int64_t p, int64_t q)
{
    int64_t w = find_apex(g, p, q), len = 0, k, x = p;
    while (x != w) { g->tn[len] = x; g->te[len] = g->pedge[x]; x = g->parent[x]; len++; }
    g->tn[len] = w;
    g->nWn = 0; g->nWe = 0;
    for (k = len; k >= 0; k--) g->Wn[g->nWn++] = g->tn[k];
    for (k = len - 1; k >= 0; k--) g->We[g->nWe++] = g->te[k];
    if (!(g->nWe == 1 && g->We[0] == i)) g->We[g->nWe++] = i;
    x = q;
    while (x != w) { g->Wn[g->nWn++] = x; g->We[g->nWe++] = g->pedge[x]; x = g->parent[x]; }
}

static void find_leaving(const NS *g, int64_t *j, int64_t *s, int64_t *t)
{
    int64_t k, len = g->nWe < g->nWn ? g->nWe : g->nWn, best = 0, bj = 0, bs = 0;
    for (k = 0; k < len; k++) {
        int64_t ei = g->We[g->nWe - 1 - k], ni = g->Wn[g->nWn - 1 - k], r = residual(g, ei, ni);
        if (k == 0 || r < best) { best = r; bj = ei; bs = ni; }
    }
    *j = bj; *s = bs;
    *t = g->S[bj] == bs ? g->T[bj] : g->S[bj];
}

static void augment(NS *g, int64_t f)
{
    int64_t k, len = g->nWe < g->nWn ? g->nWe : g->nWn;
    for (k = 0; k < len; k++) {
        int64_t ei = g->We[k];
        if (g->S[ei] == g->Wn[k]) g->x[ei] += f; else g->x[ei] -= f;
    }
}

static void remove_edge(NS *g, int64_t s, int64_t t)
{
    int64_t size_t_ = g->size[t], prev_t = g->prev[t], last_t = g->last[t], next_last_t = g->next[last_t];
    g->parent[t] = NONE; g->pedge[t] = NONE;
    g->next[prev_t] = next_last_t; g->prev[next_last_t] = prev_t;
    g->next[last_t] = t; g->prev[t] = last_t;
    while (s != NONE) {
        g->size[s] -= size_t_;
        if (g->last[s] == last_t) g->last[s] = prev_t;
        s = g->parent[s];
    }
}

static void make_root(NS *g, int64_t q)
{
    int64_t len = 0, k;
    while (q != NONE) { g->tn[len++] = q; q = g->parent[q]; }
    for (k = len - 1; k > 0; k--) {
        int64_t p = g->tn[k], qq = g->tn[k - 1];
        int64_t size_p = g->size[p], last_p = g->last[p], prev_q = g->prev[qq], last_q = g->last[qq];
        int64_t next_last_q = g->next[last_q];
        g->parent[p] = qq; g->parent[qq] = NONE;
        g->pedge[p] = g->pedge[qq]; g->pedge[qq] = NONE;
        g->size[p] = size_p - g->size[qq]; g->size[qq] = size_p;
        g->next[prev_q] = next_last_q; g->prev[next_last_q] = prev_q;
        g->next[last_q] = qq; g->prev[qq] = last_q;
        if (last_p == last_q) { g->last[p] = prev_q; last_p = prev_q; }
        g->prev[p] = last_q; g->next[last_q] = p; g->next[last_p] = qq; g->prev[qq] = last_p;
        g->last[qq] = last_p;
    }
}

static void add_edge(NS *g, int64_t i, int64_t p, int64_t q)
{
    int64_t last_p = g->last[p], next_last_p = g->next[last_p], size_q = g->size[q], last_q = g->last[q];
    g->parent[q] = p; g->pedge[q] = i;
    g->next[last_p] = q; g->prev[q] = last_p;
    g->prev[next_last_p] = last_q; g->next[last_q] = next_last_p;
    while (p != NONE) {
        g->size[p] += size_q;
        if (g->last[p] == last_p) g->last[p] = last_q;
        p = g->parent[p];
    }
}

static void update_potentials(NS *g, int64_t i, int64_t p, int64_t q)
{
    int64_t d = q == g->T[i] ? g->pi[p] - g->C[i] - g->pi[q] : g->pi[p] + g->C[i] - g->pi[q];
    int64_t l = g->last[q];
    g->pi[q] += d;
    while (q != l) { q = g->next[q]; g->pi[q] += d; }
}

static int64_t index_of(const int64_t *a, int64_t len, int64_t v)
{
    int64_t k;
    for (k = 0; k < len; k++) if (a[k] == v) return k;
    return len;
}

/* Runs the pivot loop; returns 0 (optimal) or 1 (infeasible). */
static int solve(NS *g)
{
    int64_t e = g->e, B, M, blocks = 0, f = 0, k;
    if (e > 0) {
        B = 1;
        while (B * B < e) B++;
        M = (e + B - 1) / B;
        while (blocks < M) {
            int64_t i = -1, c = 0, a = f, cnt;
            for (cnt = 0; cnt < B; cnt++) { /* the block: B arcs from f, cyclically */
                int64_t r = g->fixed != NULL && g->fixed[a] ? 0 : reduced_cost(g, a);
                if (i < 0 || r < c) { i = a; c = r; }
                a = a + 1 == e ? 0 : a + 1;
            }
            f = a;
            if (c >= 0) { blocks++; continue; }
            {
                int64_t p, q, j, s, t;
                if (g->x[i] == 0) { p = g->S[i]; q = g->T[i]; } else { p = g->T[i]; q = g->S[i]; }
                find_cycle(g, i, p, q);
                find_leaving(g, &j, &s, &t);
                augment(g, residual(g, j, s));
                if (i != j) {
                    if (g->parent[t] != s) { int64_t tmp = s; s = t; t = tmp; }
                    if (index_of(g->We, g->nWe, i) > index_of(g->We, g->nWe, j)) { int64_t tmp = p; p = q; q = tmp; }
                    remove_edge(g, s, t);
                    make_root(g, q);
                    add_edge(g, i, p, q);
                    update_potentials(g, i, p, q);
                }
            }
            blocks = 0;
        }
    }
    for (k = e; k < g->m; k++)
        if (g->x[k] != 0) return 1;
    return 0;
}

/* Fixes the real arcs off the tree whose reduced cost is not zero, then prices every arc with the
 * next stage's ``cost`` (artificial arcs: ``faux_inf``) and recomputes the potentials along the
 * tree, root first in thread order. Returns 2 where an arc without capacity (``capacity`` < 0 on
 * input) would be fixed full, else 0. */
static int next_stage(NS *g, const int64_t *cost, int64_t faux_inf, const int64_t *capacity)
{
    int64_t i, q, root = g->n;
    for (i = 0; i < g->e; i++) {
        int64_t c = g->C[i] - g->pi[g->S[i]] + g->pi[g->T[i]];
        if (c == 0 || g->fixed[i]) continue;
        if (c < 0 && capacity[i] < 0) return 2;
        g->fixed[i] = 1;
    }
    for (i = 0; i < g->e; i++) g->C[i] = cost[i];
    for (i = g->e; i < g->m; i++) g->C[i] = faux_inf;
    g->pi[root] = 0;
    for (q = g->next[root]; q != root; q = g->next[q]) {
        int64_t a = g->pedge[q], p = g->parent[q];
        g->pi[q] = g->T[a] == q ? g->pi[p] - g->C[a] : g->pi[p] + g->C[a];
    }
    return 0;
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t len, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) != 0) return -1;
    if (view->itemsize != 8 || view->format == NULL || strlen(view->format) != 1
        || (view->format[0] != 'l' && view->format[0] != 'q') || view->len != len * 8) {
        PyErr_Format(PyExc_ValueError, "%s: expected a contiguous int64 array of length %zd", name, len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* network_simplex (``staged`` 0) and network_simplex_stages (1); see the top of the file. */
static PyObject *simplex(PyObject *args, int staged)
{
    PyObject *o[8];
    long long faux_one = 0;
    Py_buffer b[8];
    const char *names[8] = {"tail", "head", "capacity", "cost", "demand", "flow", "potential", "faux_infs"};
    Py_ssize_t m, n, k, stages = 1, nbuf = staged ? 8 : 7;
    int got = 0, status = 0;
    NS g;
    int64_t *mem = NULL;
    if (staged ? !PyArg_ParseTuple(args, "OOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[7], &o[5], &o[6])
               : !PyArg_ParseTuple(args, "OOOOOLOO", &o[0], &o[1], &o[2], &o[3], &o[4], &faux_one, &o[5], &o[6]))
        return NULL;
    m = PyObject_Length(o[0]);
    n = PyObject_Length(o[4]);
    if (staged) stages = PyObject_Length(o[7]);
    if (m < 0 || n < 0 || stages < 0) return NULL;
    if (stages < 1) { PyErr_SetString(PyExc_ValueError, "faux_infs: expected at least one stage"); return NULL; }
    for (got = 0; got < nbuf; got++) {
        Py_ssize_t len = got == 3 ? stages * m : got == 7 ? stages : (got == 4 || got == 6) ? n : m;
        if (get_buffer(o[got], &b[got], len, got == 5 || got == 6, names[got]) != 0) goto done;
    }
    memset(&g, 0, sizeof g);
    g.n = n; g.e = m; g.m = m + n;
    /* arc arrays of m + n, node arrays of n + 1 (root last), cycle buffers of n + 2 */
    mem = (int64_t *)malloc(sizeof(int64_t) * (size_t)(5 * (m + n) + 7 * (n + 1) + 4 * (n + 2)) + (size_t)m + 1);
    if (mem == NULL) { PyErr_NoMemory(); goto done; }
    g.S = mem; g.T = g.S + (m + n); g.U = g.T + (m + n); g.C = g.U + (m + n); g.x = g.C + (m + n);
    g.pi = g.x + (m + n); g.parent = g.pi + (n + 1); g.pedge = g.parent + (n + 1); g.size = g.pedge + (n + 1);
    g.next = g.size + (n + 1); g.prev = g.next + (n + 1); g.last = g.prev + (n + 1);
    g.Wn = g.last + (n + 1); g.We = g.Wn + (n + 2); g.tn = g.We + (n + 2); g.te = g.tn + (n + 2);
    if (stages > 1) { g.fixed = (char *)(g.te + (n + 2)); memset(g.fixed, 0, (size_t)m); }
    {
        const int64_t *tail = b[0].buf, *head = b[1].buf, *cap = b[2].buf, *cost = b[3].buf, *dem = b[4].buf;
        const int64_t single = (int64_t)faux_one;
        const int64_t *faux = staged ? (const int64_t *)b[7].buf : &single;
        int64_t faux_inf = faux[0], stage;
        Py_BEGIN_ALLOW_THREADS
        for (k = 0; k < m; k++) {
            g.S[k] = tail[k]; g.T[k] = head[k];
            g.U[k] = cap[k] < 0 ? INT64_MAX : cap[k];
            g.C[k] = cost[k]; g.x[k] = 0;
        }
        for (k = 0; k < n; k++) {
            int64_t a = m + k;
            if (dem[k] > 0) { g.S[a] = n; g.T[a] = k; } else { g.S[a] = k; g.T[a] = n; }
            g.U[a] = faux_inf; g.C[a] = faux_inf; g.x[a] = dem[k] < 0 ? -dem[k] : dem[k];
            g.pi[k] = dem[k] <= 0 ? faux_inf : -faux_inf;
            g.parent[k] = n; g.pedge[k] = a; g.size[k] = 1;
            g.next[k] = k + 1; g.prev[k] = k == 0 ? n : k - 1; g.last[k] = k;
        }
        g.pi[n] = 0; g.parent[n] = NONE; g.pedge[n] = NONE; g.size[n] = n + 1;
        g.next[n] = n == 0 ? n : 0; g.prev[n] = n == 0 ? n : n - 1; g.last[n] = n == 0 ? n : n - 1;
        if (n > 0) g.next[n - 1] = n;
        status = solve(&g);
        for (stage = 1; stage < stages && status == 0; stage++) {
            status = next_stage(&g, cost + stage * m, faux[stage], cap);
            if (status == 0) status = solve(&g);
        }
        Py_END_ALLOW_THREADS
        {
            int64_t *flow = b[5].buf, *pot = b[6].buf;
            for (k = 0; k < m; k++) flow[k] = g.x[k];
            for (k = 0; k < n; k++) pot[k] = g.pi[k];
        }
    }
done:
    free(mem);
    for (k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    if (got < nbuf || PyErr_Occurred()) return NULL;
    return PyLong_FromLong(status);
}

static PyObject *py_network_simplex(PyObject *self, PyObject *args)
{
    (void)self;
    return simplex(args, 0);
}

static PyObject *py_network_simplex_stages(PyObject *self, PyObject *args)
{
    (void)self;
    return simplex(args, 1);
}

static PyMethodDef methods[] = {
    {"network_simplex", py_network_simplex, METH_VARARGS,
     "network_simplex(tail, head, capacity, cost, demand, faux_inf, flow, potential) -> status\n\n"
     "Min-cost flow by primal network simplex on int64 arrays (see the module source). Writes the\n"
     "optimal flow and node potentials; returns 0 when optimal, 1 when no flow meets the demands."},
    {"network_simplex_stages", py_network_simplex_stages, METH_VARARGS,
     "network_simplex_stages(tail, head, capacity, costs, demand, faux_infs, flow, potential) -> status\n\n"
     "The costs (k x m, row by row) one after the other, each on the optimal face of those before\n"
     "(see the module source). Returns 0 when optimal, 1 when no flow meets the demands, 2 where an\n"
     "arc without capacity would have to be fixed full."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_mcf",
                                    "Compiled primal network simplex on int64 arrays.", -1, methods};

PyMODINIT_FUNC PyInit__mcf(void) { return PyModule_Create(&module); }
