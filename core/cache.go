package core

import (
	"bytes"
	"container/list"

	"liveproxyd/livestatus"
)

// The query cache answers queries marked "Cache: reload" (the Checkmk GUI
// marks static data so) from earlier answers of the same site. An entry is
// keyed by the upstream request without its Localtime line (see cacheKey),
// which holds every other line the client sent but the proxy's own
// headers, so AuthUser is part of the key and one user's answer never
// reaches another. Entries belong to one program_start of the site: a
// restart of the monitoring core or the death of the site drops them all.
type queryCache struct {
	maxEntries, maxBytes int
	bytes                int
	lru                  *list.List // front: most recently used
	entries              map[string]*list.Element
}

type cacheEntry struct {
	key      string
	response []byte // fixed16 header and body, as the site sent them
}

func newQueryCache(entries, bytes int) *queryCache {
	return &queryCache{maxEntries: entries, maxBytes: bytes, lru: list.New(), entries: map[string]*list.Element{}}
}

func (c *queryCache) get(key string) ([]byte, bool) {
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).response, true
}

// fits tells whether a response of n bytes may be cached at all: one entry
// may take at most a quarter of the cache, so a few big answers cannot
// push out everything else.
func (c *queryCache) fits(n int) bool { return n <= c.maxBytes/4 }

func (c *queryCache) put(key string, response []byte) {
	if !c.fits(len(response)) {
		return
	}
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, response: response})
	c.bytes += len(response)
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *queryCache) remove(e *list.Element) {
	ce := c.lru.Remove(e).(*cacheEntry)
	delete(c.entries, ce.key)
	c.bytes -= len(ce.response)
}

func (c *queryCache) clear() {
	c.lru.Init()
	c.entries = map[string]*list.Element{}
	c.bytes = 0
}

func (c *queryCache) len() int { return c.lru.Len() }

// cacheKey is the key of a cacheable query: its canonical upstream request
// without the Localtime line. Checkmk's GUI appends "Localtime: <epoch
// now>" to every query, so with it the same query a second later would
// miss and fill the cache with copies. The line only lets the server
// correct for the clock difference between GUI and site, and the GUI runs
// on the proxy's host: the correction is the same for every client.
func cacheKey(q livestatus.Query) string {
	up := livestatus.Upstream(q)
	var key []byte
	for line := range bytes.Lines(up) {
		if !bytes.HasPrefix(line, []byte("Localtime:")) {
			key = append(key, line...)
		}
	}
	return string(key)
}
