package fakesite

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// output writes rows in one of the Livestatus formats. CSV: columns split
// by the column separator, rows ended by the dataset separator, lists
// joined by the list separator, nothing quoted. JSON (and python/python3,
// which look the same for our values): `[[...],\n[...]]\n`.
type output struct {
	w    *bufio.Writer
	csv  bool
	seps [4]byte
	rows int
	cell int
}

func newOutput(w *bufio.Writer, q *query) *output {
	o := &output{w: w, csv: q.format == "csv", seps: q.seps}
	if !o.csv {
		o.w.WriteByte('[')
	}
	return o
}

func (o *output) beginRow() {
	o.cell = 0
	if !o.csv {
		if o.rows > 0 {
			o.w.WriteString(",\n")
		}
		o.w.WriteByte('[')
	}
}

// endRow returns the writer's sticky error, so renderers notice a closed
// connection once per row rather than once per byte.
func (o *output) endRow() error {
	o.rows++
	if o.csv {
		return o.w.WriteByte(o.seps[0])
	}
	return o.w.WriteByte(']')
}

func (o *output) finish() error {
	if !o.csv {
		o.w.WriteString("]\n")
	}
	return o.w.Flush()
}

func (o *output) sep() {
	if o.cell > 0 {
		if o.csv {
			o.w.WriteByte(o.seps[1])
		} else {
			o.w.WriteByte(',')
		}
	}
	o.cell++
}

func (o *output) value(v value) {
	o.sep()
	switch v.k {
	case kindInt:
		o.w.Write(strconv.AppendInt(o.w.AvailableBuffer(), v.i, 10))
	case kindFloat:
		o.float(v.f)
	case kindString:
		o.str(v.s)
	case kindList:
		if !o.csv {
			o.w.WriteByte('[')
		}
		for i, e := range v.l {
			if i > 0 {
				if o.csv {
					o.w.WriteByte(o.seps[2])
				} else {
					o.w.WriteByte(',')
				}
			}
			o.str(e)
		}
		if !o.csv {
			o.w.WriteByte(']')
		}
	}
}

func (o *output) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0 // JSON has no NaN; an empty avg is 0 in Livestatus too
	}
	o.w.Write(strconv.AppendFloat(o.w.AvailableBuffer(), f, 'g', -1, 64))
}

const hexDigits = "0123456789abcdef"

func (o *output) str(s string) {
	if o.csv {
		o.w.WriteString(s)
		return
	}
	o.w.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			o.w.WriteByte('\\')
			o.w.WriteByte(c)
			i++
		case c < 0x20:
			o.w.WriteString(`\u00`)
			o.w.WriteByte(hexDigits[c>>4])
			o.w.WriteByte(hexDigits[c&15])
			i++
		case c < utf8.RuneSelf:
			o.w.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				o.w.WriteString(`\ufffd`) // keep the JSON valid UTF-8
			} else {
				o.w.WriteString(s[i : i+n])
			}
			i += n
		}
	}
	o.w.WriteByte('"')
}

func (o *output) nameRow(names []string) error {
	o.beginRow()
	for _, n := range names {
		o.value(strVal(n))
	}
	return o.endRow()
}

// render writes the whole answer body for q. It is deterministic for one
// snapshot, so it can run once to measure and once to send.
func render(w io.Writer, q *query, snap *snapshot) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	o := newOutput(bw, q)
	var err error
	if q.stats != nil {
		err = renderStats(o, q, snap)
	} else {
		err = renderRows(o, q, snap)
	}
	if err != nil {
		return err
	}
	return o.finish()
}

func (q *query) outputColumns() []*column {
	if q.cols == nil {
		return q.table.cols
	}
	return q.cols
}

func renderRows(o *output, q *query, snap *snapshot) error {
	cols := q.outputColumns()
	if q.headers {
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.name
		}
		if err := o.nameRow(names); err != nil {
			return err
		}
	}
	n, emitted := q.table.count(snap), 0
	r := &row{}
	for i := 0; i < n && (q.limit < 0 || emitted < q.limit); i++ {
		*r = row{snap: snap, idx: i}
		q.table.fill(r, i)
		if !q.match(r) {
			continue
		}
		o.beginRow()
		for _, c := range cols {
			o.value(c.get(r))
		}
		if err := o.endRow(); err != nil {
			return err
		}
		emitted++
	}
	return nil
}

// acc accumulates one Stats column of one group.
type acc struct {
	count    int64
	sum      float64
	min, max float64
}

type group struct {
	keys []value
	accs []acc
}

// renderStats answers a Stats query; Columns (if any) are the group keys,
// groups come out in the order they are first seen.
func renderStats(o *output, q *query, snap *snapshot) error {
	cols := q.cols
	var groups []*group
	index := map[string]*group{}
	n, seen := q.table.count(snap), 0
	r := &row{}
	var key []byte
	for i := 0; i < n && (q.limit < 0 || seen < q.limit); i++ {
		*r = row{snap: snap, idx: i}
		q.table.fill(r, i)
		if !q.match(r) {
			continue
		}
		seen++
		keys := make([]value, len(cols))
		key = key[:0]
		for j, c := range cols {
			keys[j] = c.get(r)
			key = appendKey(key, keys[j])
		}
		g := index[string(key)]
		if g == nil {
			g = &group{keys: keys, accs: make([]acc, len(q.stats))}
			index[string(key)] = g
			groups = append(groups, g)
		}
		for j, s := range q.stats {
			g.accs[j].add(s, r)
		}
	}
	if len(cols) == 0 && len(groups) == 0 {
		groups = append(groups, &group{accs: make([]acc, len(q.stats))})
	}
	if q.headers {
		var names []string
		for _, c := range cols {
			names = append(names, c.name)
		}
		for i := range q.stats {
			names = append(names, "stats_"+strconv.Itoa(i+1))
		}
		if err := o.nameRow(names); err != nil {
			return err
		}
	}
	for _, g := range groups {
		o.beginRow()
		for _, k := range g.keys {
			o.value(k)
		}
		for j, s := range q.stats {
			o.value(g.accs[j].result(s))
		}
		if err := o.endRow(); err != nil {
			return err
		}
	}
	return nil
}

func appendKey(b []byte, v value) []byte {
	switch v.k {
	case kindInt:
		b = strconv.AppendInt(b, v.i, 10)
	case kindFloat:
		b = strconv.AppendFloat(b, v.f, 'g', -1, 64)
	case kindString:
		b = append(b, v.s...)
	case kindList:
		for _, e := range v.l {
			b = append(b, e...)
			b = append(b, 0)
		}
	}
	return append(b, 0, 1)
}

func (a *acc) add(s *stat, r *row) {
	if s.agg == "" {
		if s.cond(r) {
			a.count++
		}
		return
	}
	v := s.col.get(r)
	f := float64(v.i)
	if v.k == kindFloat {
		f = v.f
	}
	if a.count == 0 || f < a.min {
		a.min = f
	}
	if a.count == 0 || f > a.max {
		a.max = f
	}
	a.sum += f
	a.count++
}

func (a *acc) result(s *stat) value {
	var f float64
	switch s.agg {
	case "":
		return intVal(a.count)
	case "sum":
		f = a.sum
	case "min":
		f = a.min
	case "max":
		f = a.max
	case "avg":
		if a.count > 0 {
			f = a.sum / float64(a.count)
		}
		return value{k: kindFloat, f: f}
	}
	if s.col.k == kindInt {
		return intVal(int64(f))
	}
	return value{k: kindFloat, f: f}
}
