package hub

import "strings"

// lfsPatterns are the patterns of the .gitattributes the Hub writes into
// every new repository, so that weights and archives are LFS by default.
var lfsPatterns = []string{
	"*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gguf", "*.gz", "*.h5", "*.joblib",
	"*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
	"*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
	"saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
	"*.zst", "*tfevents*",
}

// datasetPatterns are added for datasets: media and line-delimited data.
var datasetPatterns = []string{
	"# Audio files - uncompressed", "*.pcm", "*.sam", "*.raw",
	"# Audio files - compressed", "*.aac", "*.flac", "*.mp3", "*.ogg", "*.wav",
	"# Image files - uncompressed", "*.bmp", "*.gif", "*.png", "*.tiff",
	"# Image files - compressed", "*.jpg", "*.jpeg", "*.webp",
	"# Video files - compressed", "*.mp4", "*.webm",
	"*.lz4", "*.mds",
}

// DefaultGitAttributes returns the .gitattributes of a new repository.
func DefaultGitAttributes(repoType string) string {
	var b strings.Builder
	line := func(p string) {
		if strings.HasPrefix(p, "#") {
			b.WriteString(p + "\n")
			return
		}
		b.WriteString(p + " filter=lfs diff=lfs merge=lfs -text\n")
	}
	for _, p := range lfsPatterns {
		line(p)
	}
	if repoType == TypeDataset {
		for _, p := range datasetPatterns {
			line(p)
		}
	}
	return b.String()
}
