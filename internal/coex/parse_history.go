package coex

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ---- history ----

type wireChunkMeta struct {
	Phase      flexInt `json:"phase"`
	ChunkOrder flexInt `json:"chunk_order"`
	Progress   flexInt `json:"progress"`
}

func (v *valueState) historyItem(k int) error {
	s, c := v.s, v.c
	path := "history " + strconv.Itoa(k)
	start := s.offset()
	if s.kind() != '{' {
		raw, err := s.value()
		if err != nil {
			return err
		}
		c.addError(ItemError{Kind: ItemHistory, Path: path, Err: "not an object", Raw: v.p.clean(raw)})
		return nil
	}
	scratch := scratchPool.Get().(*[]Message)
	defer func() {
		clear(*scratch)
		*scratch = (*scratch)[:0]
		scratchPool.Put(scratch)
	}()
	var (
		chunk              Chunk
		hasMeta, hasChunk  bool
		hasErrors, invalid bool
		metaErr            string
		errs               []wireError
		pending            []ItemError // item errors of the chunk's messages and threads
	)
	err := s.object(func(name string) error {
		switch name {
		case "metadata":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if string(raw) == "null" {
				return nil
			}
			hasMeta, hasChunk = true, true
			var m wireChunkMeta
			if err := decode(raw, &m); err != nil {
				metaErr = "metadata: " + errText(err)
				return nil
			}
			chunk.Phase, chunk.ChunkOrder, chunk.Progress, metaErr = chunkMetadata(m)
		case "threads":
			if s.kind() == '[' {
				hasChunk = true
			}
			return s.items(func(raw []byte) {
				hasChunk, invalid = true, true
				metaErr = or(metaErr, "threads is not an array")
			}, func(t int) error {
				hasChunk = true
				chunk.ThreadCount++
				return v.thread(scratch, path, t, &pending)
			})
		case "errors":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if string(raw) == "null" {
				return nil
			}
			hasErrors = true
			if err := decode(raw, &errs); err != nil {
				metaErr = or(metaErr, "errors: "+errText(err))
			}
		default:
			return s.dec.SkipValue()
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case !hasChunk && !hasErrors:
		metaErr = "neither a chunk (metadata, threads) nor errors"
	case hasChunk && !hasMeta && !invalid:
		metaErr = or(metaErr, "threads without metadata")
	}
	if metaErr == "" {
		for e, we := range errs {
			he, err := we.toError()
			if err != nil {
				metaErr = fmt.Sprintf("errors %d: %v", e, err)
				break
			}
			c.HistoryErrors = append(c.HistoryErrors, HistoryError(he))
		}
	}
	if metaErr != "" {
		// The chunk cannot be placed: it is quarantined whole, with its raw JSON.
		c.addError(ItemError{Kind: ItemHistory, Path: path, Err: metaErr, Raw: v.p.clean(s.since(start))})
		return nil
	}
	c.ItemErrors = append(c.ItemErrors, pending...)
	if hasChunk {
		if len(*scratch) > 0 {
			chunk.Messages = append(make([]Message, 0, len(*scratch)), *scratch...)
		}
		c.Chunks = append(c.Chunks, chunk)
	}
	return nil
}

func chunkMetadata(m wireChunkMeta) (phase, order, progress int, problem string) {
	var err error
	if phase, err = bounded("phase", m.Phase.n, 100); err == nil {
		if order, err = bounded("chunk_order", m.ChunkOrder.n, math.MaxInt32); err == nil {
			progress, err = bounded("progress", m.Progress.n, 100)
		}
	}
	if err != nil {
		return 0, 0, 0, err.Error()
	}
	return phase, order, progress, ""
}

// bounded checks a chunk number: ≥ 0 and, when upper ≥ 0, ≤ upper.
func bounded(name string, n, upper int64) (int, error) {
	if n < 0 || (upper >= 0 && n > upper) || n > int64(maxInt) {
		return 0, fmt.Errorf("%s: out of range: %d", name, n)
	}
	return int(n), nil
}

const maxInt = int(^uint(0) >> 1)

type wireThreadContext struct {
	WAID        string `json:"wa_id"`
	UserID      string `json:"user_id"`
	Username    string `json:"username"`
	CountryCode string `json:"country_code"`
}

// thread reads one history thread, appending its messages to chunk. A thread
// whose contact cannot be told is quarantined with all its messages.
func (v *valueState) thread(msgs *[]Message, chunkPath string, t int, pending *[]ItemError) error {
	s := v.s
	path := chunkPath + " thread " + strconv.Itoa(t)
	start := s.offset()
	if s.kind() != '{' {
		raw, err := s.value()
		if err != nil {
			return err
		}
		*pending = append(*pending, ItemError{Kind: ItemThread, Path: path, Err: "not an object", Raw: v.p.clean(raw)})
		return nil
	}
	var (
		id, problem string
		tc          wireThreadContext
		first       = len(*msgs)
		firstErr    = len(*pending)
	)
	err := s.object(func(name string) error {
		switch name {
		case "id":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if err := decode(raw, &id); err != nil {
				problem = or(problem, "id: "+errText(err))
			}
		case "context":
			raw, err := s.value()
			if err != nil {
				return err
			}
			if err := decode(raw, &tc); err != nil {
				problem = or(problem, "context: "+errText(err))
			}
		case "messages":
			return v.list(path+" messages", func(p int) error {
				w := &v.w
				raw, err, fatal := s.readMessage(w)
				if fatal != nil {
					return fatal
				}
				if err == nil {
					*msgs = append(*msgs, Message{})
					m := &(*msgs)[len(*msgs)-1]
					if err = w.fill(m, OriginHistory, p); err == nil {
						m.Raw = v.p.clean(raw)
						return nil
					}
					*m = Message{}
					*msgs = (*msgs)[:len(*msgs)-1]
				}
				*pending = append(*pending, ItemError{Kind: ItemMessage, Path: path + " message " + strconv.Itoa(p),
					WAMID: validID(w.ID), Err: errText(err), Raw: v.p.clean(raw)})
				return nil
			})
		default:
			return s.dec.SkipValue()
		}
		return nil
	})
	if err != nil {
		return err
	}
	who := identity{}
	if problem == "" {
		who, problem = threadContact(id, tc, (*msgs)[first:])
	}
	if problem != "" {
		clear((*msgs)[first:])
		*msgs = (*msgs)[:first]
		*pending = append((*pending)[:firstErr], ItemError{Kind: ItemThread, Path: path, Err: problem,
			ContactWAID: who.waid, ContactUserID: who.userID, Raw: v.p.clean(s.since(start))})
		return nil
	}
	username, country := strings.TrimSpace(tc.Username), strings.TrimSpace(tc.CountryCode)
	mine := (*msgs)[first:]
	for i := range mine {
		mine[i].ContactWAID, mine[i].ContactUserID = who.waid, who.userID
		mine[i].ContactUsername, mine[i].ContactCountryCode = username, country
	}
	for i := firstErr; i < len(*pending); i++ {
		(*pending)[i].ContactWAID, (*pending)[i].ContactUserID = who.waid, who.userID
	}
	return nil
}

// threadContact tells a thread's contact: the phone number from its id (or
// context.wa_id) and the BSUID from context.user_id; a username user's thread
// may have neither phone number, and then the BSUID its messages came from
// stands.
func threadContact(id string, tc wireThreadContext, msgs []Message) (identity, string) {
	var who identity
	var err error
	if who.waid, err = phone("id", id); err != nil {
		return who, err.Error()
	}
	if who.waid == "" {
		if who.waid, err = phone("context.wa_id", tc.WAID); err != nil {
			return who, err.Error()
		}
	}
	if who.userID, err = userID("context.user_id", tc.UserID); err != nil {
		return who, err.Error()
	}
	if who.waid == "" && who.userID == "" {
		for _, m := range msgs {
			if m.From == "" && m.FromUserID != "" {
				who.userID = m.FromUserID
				break
			}
		}
	}
	if who.waid == "" && who.userID == "" {
		return who, "thread without id or context.user_id: no contact"
	}
	return who, ""
}

// validID returns a message id for an item error (it may be all that could be read).
func validID(id string) string {
	if len(id) > MaxIDLength {
		return id[:MaxIDLength]
	}
	return strings.ToValidUTF8(id, "\uFFFD")
}

// mediaUpdate reads a history media follow-up: value.messages[] (the
// contact's media, or the business's when sent from its number) or
// value.message_echoes[] (the business's).
func (v *valueState) mediaUpdate(k int, list string, echo bool) error {
	path := list + " " + strconv.Itoa(k)
	w := &v.w
	raw, err, fatal := v.s.readMessage(w)
	if fatal != nil {
		return fatal
	}
	var m Message
	if err == nil {
		m, err = w.toMessage(OriginHistory, k)
	}
	var to identity
	if err == nil {
		to, err = recipient(w)
	}
	if err != nil {
		v.c.addError(ItemError{Kind: ItemMessage, Path: path, WAMID: validID(w.ID), Err: errText(err), Raw: v.p.clean(raw)})
		return nil
	}
	m.Raw = v.p.clean(raw)
	if echo {
		m.Direction = DirectionOutbound
		m.ContactWAID, m.ContactUserID = to.waid, to.userID
	} else {
		m.ContactWAID, m.ContactUserID = m.From, m.FromUserID // outbound ones are settled later
	}
	v.c.MediaUpdates = append(v.c.MediaUpdates, m)
	v.mediaTo = append(v.mediaTo, to)
	return nil
}

func recipient(w *wireMessage) (identity, error) {
	var to identity
	var err error
	if to.waid, err = phone("to", w.To); err != nil {
		return to, err
	}
	to.userID, err = userID("to_user_id", w.ToUserID)
	return to, err
}

// message reads an echo (outbound: the contact is its recipient) or a live
// message (inbound: the contact is its sender). Edits and revokes go to their
// own lists: an echo's are the business's, a live one's the customer's.
func (v *valueState) message(k int, label, origin, direction string) error {
	path := label + " " + strconv.Itoa(k)
	c := v.c
	w := &v.w
	raw, bad, fatal := v.s.readMessage(w)
	if fatal != nil {
		return fatal
	}
	fail := func(err error) error {
		c.addError(ItemError{Kind: ItemMessage, Path: path, WAMID: validID(w.ID), Err: errText(err), Raw: v.p.clean(raw)})
		return nil
	}
	if bad != nil {
		return fail(bad)
	}
	var who identity
	var err error
	if direction == DirectionOutbound {
		who, err = recipient(w)
	} else {
		if who.waid, err = phone("from", w.From); err == nil {
			who.userID, err = userID("from_user_id", w.FromUserID)
		}
	}
	if err != nil {
		return fail(err)
	}
	if who.waid == "" && who.userID == "" {
		if direction == DirectionOutbound {
			return fail(errors.New("no contact: to and to_user_id are empty"))
		}
		return fail(errors.New("no contact: from and from_user_id are empty"))
	}
	clean := v.p.clean(raw)
	switch w.Type {
	case "edit":
		e, err := w.toEdit()
		if err != nil {
			return fail(err)
		}
		e.ContactWAID, e.ContactUserID, e.Direction, e.Origin, e.Raw = who.waid, who.userID, direction, origin, clean
		c.Edits = append(c.Edits, e)
		return nil
	case "revoke":
		r, err := w.toRevoke()
		if err != nil {
			return fail(err)
		}
		r.ContactWAID, r.ContactUserID, r.Direction, r.Origin, r.Raw = who.waid, who.userID, direction, origin, clean
		c.Revokes = append(c.Revokes, r)
		return nil
	}
	m, err := w.toMessage(origin, k)
	if err != nil {
		return fail(err)
	}
	m.Direction, m.ContactWAID, m.ContactUserID, m.Raw = direction, who.waid, who.userID, clean
	c.Messages = append(c.Messages, m)
	return nil
}
