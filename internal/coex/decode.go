package coex

// DecodeMessage reads one stored message object (the raw JSON kept with a message) back
// into a Message with its structured Content, as the parser built it. Direction, contact
// and origin are not set: they come from the envelope, not the message object.
func DecodeMessage(raw []byte) (Message, error) {
	var w wireMessage
	if err := decode(raw, &w); err != nil {
		return Message{}, err
	}
	return w.toMessage("", 0)
}
