package search

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// The benchmarks build an index of documents drawn like bench/discovery's
// generator (the same families, sizes, tasks, libraries, licenses and
// base models), so that memory and latency here predict the server's.
var benchDocs = flag.Int("search.docs", 100_000, "documents in the benchmarks' index")

var (
	genOrgs      = []string{"meta-llama", "mistralai", "google", "microsoft", "qwen", "deepseek-ai", "allenai", "tiiuae", "bigscience", "stabilityai", "openai", "nvidia", "ibm", "apple", "facebook"}
	genFamilies  = []string{"llama", "mistral", "gemma", "phi", "qwen", "deepseek", "olmo", "falcon", "bloom", "stablelm", "gpt2", "bert", "t5", "whisper", "vit", "clip", "roberta", "mixtral", "starcoder", "codegen"}
	genSizes     = []string{"125m", "350m", "1b", "1.5b", "3b", "7b", "8b", "13b", "34b", "70b"}
	genSuffixes  = []string{"", "-instruct", "-chat", "-base", "-it", "-gguf", "-awq", "-lora", "-finetuned", "-v2", "-dpo", "-sft"}
	genTasks     = []string{"text-generation", "text-classification", "token-classification", "fill-mask", "image-classification", "automatic-speech-recognition", "translation", "summarization", "feature-extraction", "text-to-image"}
	genLibraries = []string{"transformers", "transformers", "transformers", "peft", "diffusers", "sentence-transformers", "timm", "gguf", "mlx"}
	genLicenses  = []string{"apache-2.0", "mit", "llama3", "cc-by-4.0", "other", "gemma", "openrail"}
	genLanguages = []string{"en", "fr", "de", "es", "zh", "ja", "multilingual"}
	genRelations = []string{"finetune", "adapter", "quantized", "merge"}
)

func genDocs(n int) []meta.SearchDoc {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]meta.SearchDoc, n)
	for j := range n {
		fam, size := genFamilies[rng.IntN(len(genFamilies))], genSizes[rng.IntN(len(genSizes))]
		ns := fmt.Sprintf("user%d", rng.IntN(20_000))
		if rng.IntN(10) == 0 {
			ns = genOrgs[rng.IntN(len(genOrgs))]
		}
		created := time.Unix(1_600_000_000+int64(rng.IntN(200_000_000)), 0)
		task, lib, lic := genTasks[rng.IntN(len(genTasks))], genLibraries[rng.IntN(len(genLibraries))], genLicenses[rng.IntN(len(genLicenses))]
		d := meta.SearchDoc{Repo: meta.Repo{ID: int64(j + 1), Type: meta.TypeModel, Namespace: ns,
			Name:    fmt.Sprintf("%s-%s%s-%d", fam, size, genSuffixes[rng.IntN(len(genSuffixes))], j),
			Private: rng.IntN(20) == 0, CreatedAt: created, UpdatedAt: created.Add(time.Duration(rng.IntN(1e6)) * time.Second)},
			PipelineTag: task, Tags: []string{lib, task, fam, "license:" + lic, genLanguages[rng.IntN(len(genLanguages))]},
			ChangedAt: int64(j)}
		if j > 100 && rng.IntN(3) == 0 {
			b := fmt.Sprintf("%s/%s-%s-%d", genOrgs[rng.IntN(len(genOrgs))], fam, size, rng.IntN(j))
			d.Tags = append(d.Tags, "base_model:"+b, "base_model:"+genRelations[rng.IntN(len(genRelations))]+":"+b)
		}
		if rng.IntN(4) == 0 {
			d.Repo.Downloads = int64(rng.ExpFloat64()*50) + 1
		}
		out[j] = d
	}
	return out
}

// genQuery draws a listing like bench/discovery's "search + filters"
// scenario (search), or its "filters only" one.
func genQuery(rng *rand.Rand, search bool) meta.RepoQuery {
	q := meta.RepoQuery{Type: meta.TypeModel, Sort: meta.SortDownloads, Desc: true, Limit: 51}
	if !search {
		q.Tags = []string{genLibraries[rng.IntN(len(genLibraries))], "license:" + genLicenses[rng.IntN(len(genLicenses))]}
		q.PipelineTag = genTasks[rng.IntN(len(genTasks))]
		return q
	}
	q.Search = genFamilies[rng.IntN(len(genFamilies))] + "-" + genSizes[rng.IntN(len(genSizes))]
	switch rng.IntN(4) {
	case 0:
		q.Tags = []string{"license:" + genLicenses[rng.IntN(len(genLicenses))]}
	case 1:
		q.PipelineTag = genTasks[rng.IntN(len(genTasks))]
		q.Tags = []string{genLibraries[rng.IntN(len(genLibraries))]}
	case 2:
		q.MinParams, q.MaxParams = 1e9, 70e9
	}
	return q
}
