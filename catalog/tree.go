package catalog

import (
	"strconv"
	"unicode/utf8"
)

// position is where a value starts in a catalog file. Both are 1-based and
// columns count characters, not bytes, as editors and yaml.v3 count them.
type position struct {
	line, col int
}

// kind is the type of a value in a catalog file, whichever format it was written in.
type kind uint8

const (
	// kindInvalid marks a value a decoder has already reported as unusable
	// (an unsupported YAML tag, say); the validator passes over it in silence.
	kindInvalid kind = iota
	kindNull
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "boolean"
	case kindNumber:
		return "number"
	case kindString:
		return "string"
	case kindArray:
		return "array"
	case kindObject:
		return "object"
	}
	return "invalid value"
}

// node is one value of a catalog file with the position it starts at. JSON and
// YAML are both decoded into nodes, so that every rule is written once, in the
// validator, against this tree.
type node struct {
	kind kind
	// lit says how a string is written, to find a character inside it.
	lit litStyle
	pos position
	// text is a string's value, or a number's or boolean's source text.
	text string
	// number is a number's value; ±Inf when the source text overflows float64.
	number float64
	items  []node
	// fields are an object's members in file order, duplicates included.
	fields []field
}

// field is one member of an object.
type field struct {
	key    string
	keyPos position
	keyLit litStyle
	value  node
}

// describe names n's type, and its value when that is short, for messages such
// as "name must be a string, found number 42".
func describe(n *node) string {
	switch n.kind {
	case kindBool, kindNumber:
		return n.kind.String() + " " + n.text
	case kindString:
		const maxShown = 40
		if utf8.RuneCountInString(n.text) > maxShown {
			return "a long string"
		}
		return "string " + strconv.Quote(n.text)
	}
	return n.kind.String()
}

// positionIndex turns byte offsets of a file into positions. Decoders ask for
// offsets in increasing order, so it walks on from its last answer: a
// catalog written on a single line still costs one pass.
type positionIndex struct {
	data []byte
	off  int
	at   position
}

func newPositionIndex(data []byte) *positionIndex {
	return &positionIndex{data: data, at: position{1, 1}}
}

// position returns the position of the byte at off. Lines end at a line
// feed, a carriage return and line feed, or a carriage return alone, as
// editors and yaml.v3 count them.
func (ix *positionIndex) position(off int) position {
	off = min(max(off, 0), len(ix.data))
	if off < ix.off {
		ix.off, ix.at = 0, position{1, 1}
	}
	for ; ix.off < off; ix.off++ {
		switch c := ix.data[ix.off]; {
		case c == '\n', c == '\r' && (ix.off+1 == len(ix.data) || ix.data[ix.off+1] != '\n'):
			ix.at.line++
			ix.at.col = 1
		case !utf8.RuneStart(c): // a character's second byte or later
		default:
			ix.at.col++
		}
	}
	return ix.at
}
