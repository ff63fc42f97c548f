/* The complementary suppression's inner loops in C: the swap test, and the neighbourhoods and
 * arrays of its LPs (riskmap/indicators/protection.py).
 *
 * The national release asks the swap test (_Swaps.protects) about 230,000 times whether moving
 * events between pairs of atoms with the same shown cells brings a small count to an end of its
 * interval while every cell a move touches is hidden and stays within what an attacker knows of
 * it; in Python each answer costs ~70 us, nearly all of it the interpreter's. And for each of
 * its ~40,000 LPs, the atoms near the small count, the cells they touch and the LP's arrays
 * took some forty small numpy calls (_Neighbourhood.near and _lp). This file does both step for
 * step as the Python does (the same atoms, partners, order and tries; the same arrays, in the
 * same order), so the complements do not depend on which one ran; riskmap/indicators/_native.py
 * loads it and the tests compare the two. Built by scripts/build-native; without it riskmap
 * runs the Python.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define RISKMAP_SUPPRESSION_VERSION 3

/* What the test reads (arrays owned by the Python caller) and its scratch (one per process). */
typedef struct {
    int64_t n_cells, n_atoms;
    int32_t tries;                      /* partners tried beyond the narrow cells (TRIES) */
    int32_t wide;                       /* the widest cell that is a source of partners */
    const int32_t *row_ptr, *row_idx;   /* cell -> its atoms, ascending */
    const int32_t *col_ptr, *col_idx;   /* atom -> its cells, ascending */
    const int32_t *width;               /* atoms per cell */
    const double *atoms;                /* events per atom */
    const double *values, *lower, *upper;  /* per cell: value, what the attacker knows */
    const uint8_t *shown;               /* per cell */
    const int32_t *signature;           /* per atom: the group of its shown cells */
    const int64_t *group_ptr;           /* per signature: its atoms, ascending */
    const int32_t *group_atoms;
    const int64_t *donor_ptr;           /* per signature: its atoms with events */
    const int32_t *donor_atoms;
    /* scratch: marks (the call or partner search that set them) and amounts */
    uint32_t *inside, *seen, *taken_at, *total_at;
    double *taken, *total;
    int32_t *narrow;                    /* an atom's narrow hidden cells */
    int32_t *cells;                     /* the cells of a move and what it adds to each */
    double *deltas;
    uint32_t call, search;
} riskmap_swaps;

int riskmap_suppression_version(void) { return RISKMAP_SUPPRESSION_VERSION; }

static uint32_t next_call(riskmap_swaps *s) {
    if (++s->call == 0) { /* after four billion calls: clear the marks once */
        memset(s->inside, 0, (size_t)s->n_atoms * sizeof(uint32_t));
        memset(s->taken_at, 0, (size_t)s->n_atoms * sizeof(uint32_t));
        memset(s->total_at, 0, (size_t)s->n_cells * sizeof(uint32_t));
        s->call = 1;
    }
    return s->call;
}

static uint32_t next_search(riskmap_swaps *s) {
    if (++s->search == 0) {
        memset(s->seen, 0, (size_t)s->n_atoms * sizeof(uint32_t));
        s->search = 1;
    }
    return s->search;
}

/* The hidden cells of at most `wide` atoms that `atom` counts towards, narrowest first (ties
 * by cell number), into s->narrow; their number. */
static int64_t narrow_cells(riskmap_swaps *s, int32_t atom) {
    int64_t n = 0;
    for (int64_t j = s->col_ptr[atom]; j < s->col_ptr[atom + 1]; j++) {
        int32_t c = s->col_idx[j];
        if (s->shown[c] || s->width[c] > s->wide)
            continue;
        int64_t k = n++;
        while (k > 0 && s->width[s->narrow[k - 1]] > s->width[c]) {
            s->narrow[k] = s->narrow[k - 1];
            k--;
        }
        s->narrow[k] = c;
    }
    return n;
}

/* What the current call's moves have added to cell `c` so far. */
static double total_of(const riskmap_swaps *s, int32_t c) {
    return s->total_at[c] == s->call ? s->total[c] : 0.0;
}

/* One partner `b` offered to atom `a`: moves `amount` (taking from b when `need` > 0, giving to
 * it when < 0) if every cell the move touches, other than `cell`, is hidden and stays within
 * what the attacker knows of it. Returns 1 where the Python stops offering partners. */
static int offer(riskmap_swaps *s, int32_t cell, int32_t a, int32_t b, double *need,
                 int32_t *tries) {
    *tries += 1;
    if (*need == 0 || *tries > 2 * s->tries)
        return 1;
    double left = s->atoms[b] - (s->taken_at[b] == s->call ? s->taken[b] : 0.0);
    if (*need > 0 && left <= 0)
        return 0;
    double amount = *need > 0 ? (*need <= left ? *need : left) : *need;
    /* the cells of a and not b gain the amount, those of b and not a lose it */
    int64_t i = s->col_ptr[a], i_end = s->col_ptr[a + 1];
    int64_t j = s->col_ptr[b], j_end = s->col_ptr[b + 1];
    int64_t n = 0;
    while (i < i_end || j < j_end) {
        int32_t ca = i < i_end ? s->col_idx[i] : INT32_MAX;
        int32_t cb = j < j_end ? s->col_idx[j] : INT32_MAX;
        if (ca == cb) {
            i++, j++;
        } else if (ca < cb) {
            s->cells[n] = ca, s->deltas[n++] = amount, i++;
        } else {
            s->cells[n] = cb, s->deltas[n++] = -amount, j++;
        }
    }
    for (int64_t k = 0; k < n; k++) {
        int32_t c = s->cells[k];
        if (c == cell)
            continue;
        double value = s->values[c] + total_of(s, c) + s->deltas[k];
        if (s->shown[c] || !(s->lower[c] <= value && value <= s->upper[c]))
            return 0;
    }
    for (int64_t k = 0; k < n; k++) {
        int32_t c = s->cells[k];
        s->total[c] = total_of(s, c) + s->deltas[k];
        s->total_at[c] = s->call;
    }
    *need -= amount;
    s->taken[b] = (s->taken_at[b] == s->call ? s->taken[b] : 0.0) + amount;
    s->taken_at[b] = s->call;
    return 0;
}

/* Partners for atom `a`: those sharing a narrow hidden cell with it, then at most `tries` of
 * its signature's others; none inside the small count's cell. */
static void partners(riskmap_swaps *s, int32_t cell, int32_t a, double *need, int32_t *tries) {
    int giving = *need > 0;
    int32_t sig = s->signature[a];
    const int64_t *ptr = giving ? s->donor_ptr : s->group_ptr;
    const int32_t *group = (giving ? s->donor_atoms : s->group_atoms) + ptr[sig];
    int64_t size = ptr[sig + 1] - ptr[sig];
    if (size < 2)
        return;
    uint32_t search = next_search(s);
    s->seen[a] = search;
    int64_t n_narrow = narrow_cells(s, a);
    for (int64_t k = 0; k < n_narrow; k++) {
        int32_t c = s->narrow[k];
        for (int64_t j = s->row_ptr[c]; j < s->row_ptr[c + 1]; j++) {
            int32_t b = s->row_idx[j];
            if (s->signature[b] != sig || (giving && !(s->atoms[b] > 0)))
                continue;
            if (s->seen[b] == search || s->inside[b] == s->call)
                continue;
            s->seen[b] = search;
            if (offer(s, cell, a, b, need, tries))
                return;
        }
    }
    int64_t n_try = size < 4 * (int64_t)s->tries ? size : 4 * (int64_t)s->tries;
    int32_t others = 0;
    for (int64_t j = 0; j < n_try && others < s->tries; j++) {
        int32_t b = group[j];
        if (s->seen[b] == search || s->inside[b] == s->call)
            continue;
        others++;
        if (offer(s, cell, a, b, need, tries))
            return;
    }
}

/* Whether swaps bring `cell` to `target` (1) or not (0). */
int riskmap_swaps_protects(riskmap_swaps *s, int32_t cell, double target) {
    uint32_t call = next_call(s);
    const int32_t *own = s->row_idx + s->row_ptr[cell];
    int64_t n_own = s->row_ptr[cell + 1] - s->row_ptr[cell];
    for (int64_t i = 0; i < n_own; i++)
        s->inside[own[i]] = call;
    double change = target - s->values[cell];
    int32_t tries = 0;
    for (int64_t i = 0; i < n_own; i++) {
        int32_t a = own[i];
        if (!(change > 0) && !(s->atoms[a] > 0))
            continue;
        double need = change > 0 ? change : -s->atoms[a];
        if (tries > 2 * s->tries)
            return 0;
        partners(s, cell, a, &need, &tries);
        if (need != 0 && change < 0)
            return 0;
        if (change > 0) {
            change = need;
            if (change == 0)
                return 1;
        }
    }
    return change <= 0;
}


/* What the neighbourhoods and LPs read (arrays owned by the Python caller) and their scratch. */
typedef struct {
    int64_t n_cells, n_atoms;
    int32_t wide;                       /* cells wider are left out of a neighbourhood (WIDE) */
    double min_count;
    const int32_t *row_ptr, *row_idx;   /* cell -> its atoms, ascending */
    const int32_t *col_ptr, *col_idx;   /* atom -> its cells, ascending */
    const int32_t *width;               /* atoms per cell */
    const double *values, *lower, *upper;
    uint32_t *cell_mark, *atom_mark;    /* scratch: the call that saw a cell or atom */
    int32_t *slot;                      /* scratch: a touched cell's place among them */
    int32_t *spare;                     /* scratch for sorting, as long as cells or atoms */
    int32_t *slack;                     /* scratch: an LP row's entries */
    uint32_t stamp;
} riskmap_lp;

static uint32_t next_stamp(riskmap_lp *s) {
    if (++s->stamp == 0) {
        memset(s->cell_mark, 0, (size_t)s->n_cells * sizeof(uint32_t));
        memset(s->atom_mark, 0, (size_t)s->n_atoms * sizeof(uint32_t));
        s->stamp = 1;
    }
    return s->stamp;
}

/* `values` (non-negative) in ascending order, through `spare` (as long): insertion for a few,
 * else three passes of a radix sort (qsort's calls to a comparison cost ten times as much for
 * the thousands of atoms of a neighbourhood). */
static void sort_ascending(int32_t *values, int64_t n, int32_t *spare) {
    if (n < 64) {
        for (int64_t i = 1; i < n; i++) {
            int32_t v = values[i];
            int64_t j = i;
            for (; j > 0 && values[j - 1] > v; j--)
                values[j] = values[j - 1];
            values[j] = v;
        }
        return;
    }
    int32_t *from = values, *to = spare;
    for (int shift = 0; shift < 33; shift += 11) {
        int64_t count[2049] = {0};
        for (int64_t i = 0; i < n; i++)
            count[((uint32_t)from[i] >> shift & 2047) + 1]++;
        for (int b = 0; b < 2048; b++)
            count[b + 1] += count[b];
        for (int64_t i = 0; i < n; i++)
            to[count[(uint32_t)from[i] >> shift & 2047]++] = from[i];
        int32_t *swap = from;
        from = to, to = swap;
    }
    if (from != values) /* three passes: the result is in the spare */
        memcpy(values, from, (size_t)n * sizeof(int32_t));
}

/* `values` not yet marked with `stamp` appended to out[k ..] (and marked); the new end. */
static int64_t add_unseen(const int32_t *values, int64_t n, uint32_t *mark, uint32_t stamp,
                          int32_t *out, int64_t k) {
    for (int64_t i = 0; i < n; i++)
        if (mark[values[i]] != stamp) {
            mark[values[i]] = stamp;
            out[k++] = values[i];
        }
    return k;
}

/* The cells `atoms` count towards, distinct and ascending, into `cells`; their number. */
static int64_t touching(riskmap_lp *s, const int32_t *atoms, int64_t n, int32_t *cells) {
    uint32_t stamp = next_stamp(s);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        k = add_unseen(s->col_idx + s->col_ptr[atoms[i]],
                       s->col_ptr[atoms[i] + 1] - s->col_ptr[atoms[i]], s->cell_mark, stamp,
                       cells, k);
    sort_ascending(cells, k, s->spare);
    return k;
}

/* _Neighbourhood.near: `atoms` and the atoms of every cell they touch, leaving out cells wider
 * than `wide` unless hidden within `min_count` of an end of what the attacker knows of them
 * (and at most twenty times as wide), distinct and ascending, into `out`; their number. The
 * cells touched go to `cells` (their number to `n_touched`). */
int64_t riskmap_lp_near(riskmap_lp *s, const int32_t *atoms, int64_t n, const uint8_t *hidden,
                        int32_t *cells, int64_t *n_touched, int32_t *out) {
    int64_t n_cells = touching(s, atoms, n, cells);
    *n_touched = n_cells;
    uint32_t stamp = next_stamp(s);
    int64_t k = add_unseen(atoms, n, s->atom_mark, stamp, out, 0);
    for (int64_t i = 0; i < n_cells; i++) {
        int32_t c = cells[i];
        double below = s->values[c] - s->lower[c], above = s->upper[c] - s->values[c];
        int binding = hidden[c] && (below < above ? below : above) < s->min_count;
        if (s->width[c] <= s->wide || (binding && s->width[c] <= 20 * (int64_t)s->wide))
            k = add_unseen(s->row_idx + s->row_ptr[c], s->width[c], s->atom_mark, stamp, out, k);
    }
    sort_ascending(out, k, s->spare);
    return k;
}

/* The LP of _Neighbourhood.reach over the atoms `chosen`, as HiGHS takes it (compressed
 * columns), into buffers of the caller. */
typedef struct {
    int32_t *touched;                   /* the cells the atoms touch, ascending (the rows) */
    uint8_t *shown;                     /* per row: a shown cell (kept, or hidden at a cost) */
    double *col_lower, *col_upper, *col_cost;
    double *row_lower, *row_upper;
    int32_t *indptr, *indices;
    double *entries;
    int64_t n_r, n_t, nnz;              /* rows, shown rows, entries */
} riskmap_models;

/* Rows: the touched cells. Columns: y_a (a in `chosen`, y_a >= -atoms[a]), then per shown
 * cell an increase p_c >= 0 and a decrease 0 <= q_c <= value - lower (both costing cost[c])
 * with A_c y - p_c + q_c = 0; a hidden cell keeps A_c (z + y) within what the attacker knows
 * of it, `cell` is set to `target`. `relaxed` frees every cell with an atom outside `chosen`.
 * Returns 0, or -1 when `cell` is not among the rows. */
int riskmap_lp_models(riskmap_lp *s, const int32_t *chosen, int64_t n_y, const uint8_t *hidden,
                      int32_t cell, double target, int relaxed, const double *atoms,
                      const double *cost, riskmap_models *m) {
    const double inf = INFINITY;
    int64_t n_r = touching(s, chosen, n_y, m->touched), e = 0, at = -1;
    for (int64_t k = 0; k < n_r; k++) {
        s->slot[m->touched[k]] = (int32_t)k;
        s->slack[k] = 0;
    }
    /* each y column: its rows (the entries are those of the LP's matrix as they are) */
    m->indptr[0] = 0;
    for (int64_t i = 0; i < n_y; i++) {
        for (int64_t j = s->col_ptr[chosen[i]]; j < s->col_ptr[chosen[i] + 1]; j++) {
            int32_t row = s->slot[s->col_idx[j]];
            m->indices[e] = row, m->entries[e++] = 1.0;
            s->slack[row]++; /* the row's entries, for `relaxed` */
        }
        m->indptr[i + 1] = (int32_t)e;
        m->col_lower[i] = -atoms[chosen[i]], m->col_upper[i] = inf, m->col_cost[i] = 0.0;
    }
    int64_t n_t = 0;
    for (int64_t k = 0; k < n_r; k++) {
        int32_t c = m->touched[k];
        int free = relaxed && s->slack[k] < s->width[c];
        int shown = !hidden[c] && !free;
        double value = s->values[c];
        double lower = s->lower[c] - value, upper = s->upper[c] - value;
        if (free)
            lower = -inf, upper = inf;
        if (shown) {
            s->spare[n_t++] = (int32_t)k;
            lower = upper = 0.0;
        }
        if (c == cell) {
            lower = upper = target - value;
            at = k;
        }
        m->shown[k] = (uint8_t)shown;
        m->row_lower[k] = lower, m->row_upper[k] = upper;
    }
    if (at < 0)
        return -1;
    /* the increases, then the decreases, of the shown rows in order */
    int64_t nnz = e;
    for (int64_t half = 0; half < 2; half++)
        for (int64_t t = 0; t < n_t; t++) {
            int32_t k = s->spare[t], c = m->touched[k];
            int64_t column = n_y + half * n_t + t;
            m->col_lower[column] = 0.0;
            m->col_upper[column] = half ? s->values[c] - s->lower[c] : inf;
            m->col_cost[column] = cost[c];
            m->indices[nnz] = k, m->entries[nnz++] = half ? 1.0 : -1.0;
            m->indptr[column + 1] = (int32_t)nnz;
        }
    m->n_r = n_r, m->n_t = n_t, m->nnz = nnz;
    return 0;
}
