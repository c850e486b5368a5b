/* The parcel walk of act_pool.solve.split on int64 arrays.
 *
 * Parcels of credit lots (lot row, credits, route, year) travel the credit network node by node in
 * the given order. At each node its parcels are sorted by the rank of their lot (ties: order of
 * arrival), and each out-arc takes its flow from them in turn: a piece that reaches a deficit is a
 * retirement, one that reaches the expiry node expired, one that reaches the end node leaves the walk
 * and any other goes into its head's inbox. A node that is not a leaving node and has one out-arc,
 * not to a deficit or the expiry node, passes its parcels on whole, as they are. A leaving node
 * stamps its year on the pieces it sends and its arc's route on the pieces it retires. The module
 * docstring of act_pool/solve/split.py is the specification; split.py also holds the same walk in
 * Python, which this one must match piece for piece.
 *
 * Interface: walk(order, starts, heads, flows, retire, routes, role, year, start_node, start_row,
 * start_credits, rank) -> (status, retired, expired), every argument a contiguous int64 array:
 *   order          nodes to walk, in walk order;
 *   starts         (nodes + 1) CSR offsets of each node's out-arcs into the arc arrays;
 *   heads, flows   per arc (in out-arc order): head node, flow in tenths;
 *   retire, routes per arc: 1 for a retire arc, else 0; its route code;
 *   role, year     per node: ROLE_* below; the node's year;
 *   start_*        the parcels present before the walk, each node's in order of arrival (route and
 *                  year -1);
 *   rank           per lot row: its place in the sort order (equal keys, equal rank).
 * status is 0, or 1 where the flow out of a node exceeds the credits that reached it, or 2 where
 * credits are left at a node (stranded); retired holds rows (lot row, deficit node, credits, year,
 * route) and expired rows (lot row, credits), both as bytearrays of int64, in the order the pieces
 * were found. Memory grows with the parcels; the walk runs without the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_PASS = 0, ROLE_LEAVING = 1, ROLE_DEFICIT = 2, ROLE_EXPIRE = 3, ROLE_END = 4 };
enum { WALK_OK = 0, WALK_EXCEEDS = 1, WALK_STRANDED = 2, WALK_NO_MEMORY = -1 };

typedef struct {
    int64_t row, credits, route, year, next;
} Parcel;

typedef struct {
    int64_t rank, seq, parcel;
} Slot;

typedef struct {
    int64_t *data;
    size_t len, cap; /* in int64 values */
} Vec;

static int vec_push(Vec *v, const int64_t *values, size_t count)
{
    if (v->len + count > v->cap) {
        size_t cap = v->cap ? v->cap : 1024;
        int64_t *data;
        while (cap < v->len + count) cap *= 2;
        data = (int64_t *)realloc(v->data, cap * sizeof(int64_t));
        if (data == NULL) return -1;
        v->data = data;
        v->cap = cap;
    }
    memcpy(v->data + v->len, values, count * sizeof(int64_t));
    v->len += count;
    return 0;
}

typedef struct {
    const int64_t *order, *starts, *heads, *flows, *retire, *routes, *role, *year;
    const int64_t *start_node, *start_row, *start_credits, *rank;
    int64_t n_order, n_nodes, n_start;
    Parcel *pool;
    size_t n_pool, cap_pool;
    int64_t *first, *last; /* each node's inbox: a list through Parcel.next, -1 when empty */
    Slot *slots;
    size_t cap_slots;
    Vec retired, expired;
} Walk;

/* Appends a parcel to node v's inbox; returns -1 when out of memory. */
static int add_parcel(Walk *w, int64_t v, int64_t row, int64_t credits, int64_t route, int64_t year)
{
    Parcel *p;
    if (w->n_pool == w->cap_pool) {
        size_t cap = w->cap_pool ? 2 * w->cap_pool : 1024;
        Parcel *pool = (Parcel *)realloc(w->pool, cap * sizeof(Parcel));
        if (pool == NULL) return -1;
        w->pool = pool;
        w->cap_pool = cap;
    }
    p = &w->pool[w->n_pool];
    p->row = row; p->credits = credits; p->route = route; p->year = year; p->next = -1;
    if (w->first[v] < 0) w->first[v] = (int64_t)w->n_pool; else w->pool[w->last[v]].next = (int64_t)w->n_pool;
    w->last[v] = (int64_t)w->n_pool;
    w->n_pool++;
    return 0;
}

static int by_rank_then_arrival(const void *a, const void *b)
{
    const Slot *x = (const Slot *)a, *y = (const Slot *)b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Splits the parcels of node n over its out-arcs. */
static int visit(Walk *w, int64_t n)
{
    int64_t head = w->first[n], tail = w->last[n], a, p, q = 0;
    size_t count = 0, k;
    int leaving = w->role[n] == ROLE_LEAVING;
    if (head < 0) return WALK_OK;
    w->first[n] = -1;
    w->last[n] = -1;
    a = w->starts[n];
    if (w->starts[n + 1] - a == 1 && !leaving && w->role[w->heads[a]] != ROLE_DEFICIT
        && w->role[w->heads[a]] != ROLE_EXPIRE) { /* one way on: every parcel takes it */
        int64_t v = w->heads[a];
        if (w->first[v] < 0) w->first[v] = head; else w->pool[w->last[v]].next = head;
        w->last[v] = tail;
        return WALK_OK;
    }
    for (p = head; p >= 0; p = w->pool[p].next) {
        if (count == w->cap_slots) {
            size_t cap = w->cap_slots ? 2 * w->cap_slots : 256;
            Slot *slots = (Slot *)realloc(w->slots, cap * sizeof(Slot));
            if (slots == NULL) return WALK_NO_MEMORY;
            w->slots = slots;
            w->cap_slots = cap;
        }
        w->slots[count].rank = w->rank[w->pool[p].row];
        w->slots[count].seq = (int64_t)count;
        w->slots[count].parcel = p;
        count++;
    }
    if (count > 1) qsort(w->slots, count, sizeof(Slot), by_rank_then_arrival);
    for (a = w->starts[n]; a < w->starts[n + 1]; a++) {
        int64_t v = w->heads[a], need = w->flows[a], v_role = w->role[v];
        int set_route = leaving && w->retire[a];
        while (need > 0) {
            Parcel *src;
            int64_t row, take, route, year;
            if ((size_t)q == count) return WALK_EXCEEDS;
            src = &w->pool[w->slots[q].parcel];
            take = need < src->credits ? need : src->credits;
            row = src->row;
            route = set_route ? w->routes[a] : src->route;
            year = leaving ? w->year[n] : src->year;
            src->credits -= take;
            if (src->credits == 0) q++;
            need -= take;
            if (v_role == ROLE_DEFICIT) {
                int64_t piece[5] = {row, v, take, year, route};
                if (vec_push(&w->retired, piece, 5) != 0) return WALK_NO_MEMORY;
            } else if (v_role == ROLE_EXPIRE) {
                int64_t piece[2] = {row, take};
                if (vec_push(&w->expired, piece, 2) != 0) return WALK_NO_MEMORY;
            } else if (v_role != ROLE_END) {
                if (add_parcel(w, v, row, take, route, year) != 0) return WALK_NO_MEMORY;
            }
        }
    }
    for (k = (size_t)q; k < count; k++)
        if (w->pool[w->slots[k].parcel].credits > 0) return WALK_STRANDED;
    return WALK_OK;
}

static int run_walk(Walk *w)
{
    int64_t k;
    int status = WALK_OK;
    for (k = 0; k < w->n_nodes; k++) { w->first[k] = -1; w->last[k] = -1; }
    for (k = 0; k < w->n_start; k++)
        if (add_parcel(w, w->start_node[k], w->start_row[k], w->start_credits[k], -1, -1) != 0) return WALK_NO_MEMORY;
    for (k = 0; k < w->n_order && status == WALK_OK; k++) status = visit(w, w->order[k]);
    return status;
}

static int get_buffer(PyObject *obj, Py_buffer *view, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) return -1;
    if (view->itemsize != 8 || view->format == NULL || strlen(view->format) != 1
        || (view->format[0] != 'l' && view->format[0] != 'q')) {
        PyErr_Format(PyExc_ValueError, "%s: expected a contiguous int64 array", name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Whether every value of a[0:len] lies in [0, bound). */
static int within(const int64_t *a, Py_ssize_t len, int64_t bound)
{
    Py_ssize_t k;
    for (k = 0; k < len; k++)
        if (a[k] < 0 || a[k] >= bound) return 0;
    return 1;
}

/* Checks lengths and indices, so that the walk never reads outside its arrays. */
static int check_arrays(const Py_buffer *b)
{
    Py_ssize_t n_order = b[0].len / 8, n_starts = b[1].len / 8, m = b[2].len / 8, n = b[6].len / 8;
    Py_ssize_t n_start = b[8].len / 8, n_rank = b[11].len / 8, k;
    const int64_t *starts = b[1].buf;
    if (n_starts != n + 1 || b[3].len / 8 != m || b[4].len / 8 != m || b[5].len / 8 != m || b[7].len / 8 != n
        || b[9].len / 8 != n_start || b[10].len / 8 != n_start) {
        PyErr_SetString(PyExc_ValueError, "walk: arrays of inconsistent lengths");
        return -1;
    }
    for (k = 0; k < n; k++)
        if (starts[k] < 0 || starts[k] > starts[k + 1]) break;
    if (k < n || starts[n] < 0 || starts[n] > m) {
        PyErr_SetString(PyExc_ValueError, "walk: starts must rise from 0 to at most the number of arcs");
        return -1;
    }
    if (!within(b[0].buf, n_order, n) || !within(b[2].buf, m, n) || !within(b[8].buf, n_start, n)
        || !within(b[9].buf, n_start, n_rank)) {
        PyErr_SetString(PyExc_ValueError, "walk: a node or lot row out of range");
        return -1;
    }
    return 0;
}

static PyObject *py_walk(PyObject *self, PyObject *args)
{
    enum { N_ARGS = 12 };
    PyObject *o[N_ARGS], *result = NULL;
    Py_buffer b[N_ARGS];
    const char *names[N_ARGS] = {"order", "starts", "heads", "flows", "retire", "routes", "role", "year",
                                 "start_node", "start_row", "start_credits", "rank"};
    int got, status = WALK_OK;
    Walk w;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8],
                          &o[9], &o[10], &o[11]))
        return NULL;
    memset(&w, 0, sizeof w);
    for (got = 0; got < N_ARGS; got++)
        if (get_buffer(o[got], &b[got], names[got]) != 0) goto done;
    if (check_arrays(b) != 0) goto done;
    w.order = b[0].buf; w.starts = b[1].buf; w.heads = b[2].buf; w.flows = b[3].buf; w.retire = b[4].buf;
    w.routes = b[5].buf; w.role = b[6].buf; w.year = b[7].buf; w.start_node = b[8].buf; w.start_row = b[9].buf;
    w.start_credits = b[10].buf; w.rank = b[11].buf;
    w.n_order = b[0].len / 8; w.n_nodes = b[6].len / 8; w.n_start = b[8].len / 8;
    w.first = (int64_t *)malloc(sizeof(int64_t) * (size_t)(2 * w.n_nodes + 1));
    if (w.first == NULL) { PyErr_NoMemory(); goto done; }
    w.last = w.first + w.n_nodes;
    Py_BEGIN_ALLOW_THREADS
    status = run_walk(&w);
    Py_END_ALLOW_THREADS
    if (status == WALK_NO_MEMORY) { PyErr_NoMemory(); goto done; }
    {
        PyObject *retired = PyByteArray_FromStringAndSize((const char *)w.retired.data,
                                                          (Py_ssize_t)(w.retired.len * sizeof(int64_t)));
        PyObject *expired = PyByteArray_FromStringAndSize((const char *)w.expired.data,
                                                          (Py_ssize_t)(w.expired.len * sizeof(int64_t)));
        if (retired != NULL && expired != NULL) result = Py_BuildValue("iOO", status, retired, expired);
        Py_XDECREF(retired);
        Py_XDECREF(expired);
    }
done:
    free(w.first);
    free(w.pool);
    free(w.slots);
    free(w.retired.data);
    free(w.expired.data);
    for (got = got - 1; got >= 0; got--) PyBuffer_Release(&b[got]);
    return result;
}

static PyMethodDef methods[] = {
    {"walk", py_walk, METH_VARARGS,
     "walk(order, starts, heads, flows, retire, routes, role, year, start_node, start_row, start_credits, rank)\n"
     "-> (status, retired, expired)\n\n"
     "The parcel walk of act_pool.solve.split on int64 arrays (see the module source). status: 0, 1 (flow\n"
     "out of a node exceeds what reached it) or 2 (credits stranded); retired: int64 rows (lot row, deficit\n"
     "node, credits, year, route) and expired: int64 rows (lot row, credits), as bytearrays."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_walk",
                                    "Compiled parcel walk of the optimal plan's split into credit lots.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__walk(void) { return PyModule_Create(&module); }
