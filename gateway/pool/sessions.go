package pool

import (
	"container/list"
	"sync"
	"time"

	"github.com/gemgate/gemini-gateway/gateway/chat"
)

// sessionEntry is an upstream session that holds a conversation up to (and
// including) the state its key hashes.
type sessionEntry struct {
	key       chat.Key
	accountID int64
	name      string
	stored    time.Time
}

// sessionCache maps conversation states to upstream sessions, bounded by
// size (least recently stored goes first) and age.
//
// Take removes the entry it returns: a session advances with every turn, so
// the state it was stored under stops describing it the moment a turn is
// sent. This is what keeps two chats that start alike — or two concurrent
// turns of one chat, or a regenerated answer — off a session whose history
// no longer matches theirs; the turn that took the session stores it again
// under the new state when it succeeds.
type sessionCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	ll    *list.List // front = newest
	byKey map[chat.Key]*list.Element
}

func newSessionCache(max int, ttl time.Duration) *sessionCache {
	return &sessionCache{max: max, ttl: ttl, ll: list.New(), byKey: make(map[chat.Key]*list.Element)}
}

// Take returns and removes the session stored under k, if fresh.
func (c *sessionCache) Take(k chat.Key, now time.Time) (sessionEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return sessionEntry{}, false
	}
	e := c.ll.Remove(el).(sessionEntry)
	delete(c.byKey, k)
	if now.Sub(e.stored) > c.ttl {
		return sessionEntry{}, false
	}
	return e, true
}

// Put stores a session under k, evicting the oldest entries past the bound.
func (c *sessionCache) Put(e sessionEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[e.key]; ok {
		c.ll.Remove(el)
	}
	c.byKey[e.key] = c.ll.PushFront(e)
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		delete(c.byKey, old.Value.(sessionEntry).key)
		c.ll.Remove(old)
	}
}

// DropAccount forgets every session of an account (deleted, or its
// credentials changed: its sessions belong to the old sign-in).
func (c *sessionCache) DropAccount(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(sessionEntry); e.accountID == id {
			delete(c.byKey, e.key)
			c.ll.Remove(el)
		}
		el = next
	}
}

// Len is the number of stored sessions.
func (c *sessionCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// Resize applies new bounds (settings changed).
func (c *sessionCache) Resize(max int, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max, c.ttl = max, ttl
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		delete(c.byKey, old.Value.(sessionEntry).key)
		c.ll.Remove(old)
	}
}
