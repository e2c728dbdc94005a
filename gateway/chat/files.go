package chat

// File is a document, audio or video attached to a message (images are
// Image): decoded bytes with their type and name, or an http(s) URL the
// gateway still has to fetch (Data is then nil).
type File struct {
	Name string
	MIME string
	Data []byte
	URL  string
}

// FilePlaceholder stands for a file of an earlier turn in a flattened
// transcript, as ImagePlaceholder does for images.
func FilePlaceholder(f File) string {
	if f.Name != "" {
		return "[file: " + f.Name + "]"
	}
	return "[file]"
}
