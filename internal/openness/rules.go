package openness

// Content types of MOF components, which decide the license kinds MOF
// recommends for them.
const (
	Code     = "code"
	Data     = "data"
	Document = "document"
)

// MOT component ids (lfai/model_openness_tool mof.settings.yml), used as
// [Component.ID].
const (
	IDTrainingCode        = 7
	IDInferenceCode       = 8
	IDArchitecture        = 9
	IDFinalParameters     = 10
	IDTechnicalReport     = 11
	IDEvaluationResults   = 12
	IDModelCard           = 13
	IDDataCard            = 14
	IDDatasets            = 15
	IDPreprocessingCode   = 16
	IDModelMetadata       = 17
	IDEvaluationCode      = 18
	IDEvaluationData      = 19
	IDSampleOutputs       = 20
	IDResearchPaper       = 21
	IDSupportingLibraries = 22
	IDIntermediateParams  = 24
)

// detector names a built-in way of finding a component, for evidence
// that is not a file name, a heading or a link.
type detector int

const (
	noDetector     detector = iota
	library                 // an open-source library implements the model (library_name, or inferred from config files)
	modelCard               // README.md with at least minCardWords words of prose
	modelIndex              // the card's model-index has results
	cardDatasets            // the card's datasets list
	datasetCards            // every dataset the card lists has a card (Input.Datasets)
	evalDatasets            // the datasets of model-index results
	paperLinks              // arXiv, DOI, ACL Anthology, OpenReview or HF paper links, arxiv: tags
	checkpointRefs          // branches named like training checkpoints (Input.Branches)
)

// rule is one row of the classification table: a MOF component and how
// its presence is inferred from a Hub repository. Sources are tried in
// this order, and the first that finds something is the evidence: Files,
// Card, Detect, Headings, Links.
type rule struct {
	ID       int
	Name     string
	Class    int // 3 = Class III (open model), 2 = II (open tooling), 1 = I (open science)
	Type     string
	Required bool

	// Files are path patterns: "glob" matches a file's base name,
	// "dirglob/glob" a file whose base name matches glob under a
	// directory (at any depth) whose name matches dirglob. Matching is
	// case-insensitive. For code components the file must also have a
	// source-code extension unless the pattern names one.
	Files []string
	// Except are path patterns, in the same syntax, that veto a match of
	// Files.
	Except []string
	// Card are front-matter keys that, when non-empty, are evidence.
	Card []string
	// Detect is a built-in detector.
	Detect detector
	// Headings are phrases that, as whole words of a README heading,
	// make its section evidence, if it has at least minSectionWords words
	// of prose; with Figures, the section must have a table or at least
	// two lines with numbers instead.
	Headings []string
	Figures  bool
	// Links are phrases that make a README line with a link evidence;
	// for code components the link must point to a code host.
	Links []string

	files, except []pattern // compiled Files and Except
}

// Weight files, the Model parameters component.
var weightFiles = []string{
	"*.safetensors", "*.gguf", "*.ggml", "*.bin", "*.pt", "*.pth", "*.ckpt",
	"*.h5", "*.keras", "*.onnx", "*.msgpack", "*.tflite", "*.mlmodel",
	"*.nemo", "*.llamafile", "*.joblib", "*.npz",
}

// notWeights are files with weight extensions that hold training state,
// not parameters.
var notWeights = []string{
	"training_args*", "optimizer*", "scheduler*", "rng_state*", "trainer_state*",
}

// checkpointDirs name directories of intermediate checkpoints.
var checkpointDirs = []string{"checkpoint*", "ckpt*", "intermediate*", "step*", "iter_*"}

func under(dirs []string, files []string) []string {
	var out []string
	for _, d := range dirs {
		for _, f := range files {
			out = append(out, d+"/"+f)
		}
	}
	return out
}

var dataFiles = []string{"*.parquet", "*.jsonl", "*.jsonl.gz", "*.jsonl.zst", "*.csv", "*.tsv", "*.arrow", "*.json", "*.txt"}

// rules is the classification table, in MOF order within each class.
// README.md documents it; keep the two in sync.
var rules = compile([]rule{
	// Class III — Open Model.
	{
		ID: IDArchitecture, Name: "Model architecture", Class: 3, Type: Code, Required: true,
		Files:  []string{"modeling_*.py", "modelling_*.py", "*_modeling.py", "model.py", "models.py", "architecture*.py", "network*.py"},
		Detect: library,
	},
	{
		ID: IDFinalParameters, Name: "Model parameters (Final)", Class: 3, Type: Data, Required: true,
		Files:  weightFiles,
		Except: append(under(checkpointDirs, []string{"*"}), notWeights...),
	},
	{
		ID: IDEvaluationResults, Name: "Evaluation results", Class: 3, Type: Document, Required: true,
		Files:    []string{"*eval*results*.json", "*eval*results*.md", "*eval*results*.csv"},
		Detect:   modelIndex,
		Headings: []string{"evaluation", "evaluations", "eval", "evaluation results", "results", "benchmark", "benchmarks", "performance"},
		Figures:  true,
	},
	{
		ID: IDModelCard, Name: "Model card", Class: 3, Type: Document, Required: true,
		Detect: modelCard,
	},
	{
		ID: IDDataCard, Name: "Data card", Class: 3, Type: Document, Required: true,
		Files:    []string{"data_card*.md", "datacard*.md", "dataset_card*.md", "datasheet*", "data_sheet*"},
		Detect:   datasetCards,
		Headings: []string{"training data", "training dataset", "training datasets", "pretraining data", "data", "dataset", "datasets", "data card", "datasheet"},
	},
	{
		ID: IDTechnicalReport, Name: "Technical report", Class: 3, Type: Document, Required: true,
		Files: []string{"*report*.pdf", "*technical*.pdf", "*tech*report*"},
		Links: []string{"technical report", "tech report", "model report", "system card"},
	},
	{
		ID: IDSampleOutputs, Name: "Sample model outputs", Class: 3, Type: Document, Required: false,
		Files:    []string{"samples/*", "sample_outputs/*", "outputs/*", "generations/*"},
		Headings: []string{"sample outputs", "example outputs", "samples", "sample", "generations", "outputs"},
	},

	// Class II — Open Tooling.
	{
		ID: IDTrainingCode, Name: "Training code", Class: 2, Type: Code, Required: true,
		Files: []string{"train*", "*_train*", "finetun*", "fine_tun*", "fine-tun*", "pretrain*", "training/*", "train/*", "recipes/*"},
		Links: []string{"train", "fine-tun", "finetun", "pretrain", "pre-train", "recipe"},
	},
	{
		ID: IDInferenceCode, Name: "Inference code", Class: 2, Type: Code, Required: true,
		Files:  []string{"inference*", "infer*", "generate*", "predict*", "handler.py", "pipeline*", "app.py", "demo*", "serve*", "sample.py"},
		Detect: library,
		Links:  []string{"inference", "serving"},
	},
	{
		ID: IDEvaluationCode, Name: "Evaluation code", Class: 2, Type: Code, Required: true,
		Files: []string{"eval*", "*_eval*", "benchmark*", "evaluation/*", "eval/*", "evals/*"},
		Links: []string{"eval", "benchmark"},
	},
	{
		ID: IDEvaluationData, Name: "Evaluation data", Class: 2, Type: Data, Required: true,
		Files:  under([]string{"eval*", "benchmark*"}, dataFiles),
		Detect: evalDatasets,
	},
	{
		ID: IDSupportingLibraries, Name: "Supporting libraries and tools", Class: 2, Type: Code, Required: false,
		Files: []string{"requirements*.txt", "pyproject.toml", "setup.py", "setup.cfg", "environment*.yml", "environment*.yaml", "dockerfile", "*.dockerfile", "uv.lock", "poetry.lock", "pixi.toml"},
	},

	// Class I — Open Science.
	{
		ID: IDResearchPaper, Name: "Research paper", Class: 1, Type: Document, Required: true,
		Files:  []string{"*paper*.pdf", "*preprint*.pdf"},
		Card:   []string{"arxiv", "paper"},
		Detect: paperLinks,
	},
	{
		ID: IDDatasets, Name: "Datasets", Class: 1, Type: Data, Required: true,
		Files:  under([]string{"data", "dataset*", "training_data"}, dataFiles),
		Detect: cardDatasets,
	},
	{
		ID: IDPreprocessingCode, Name: "Data preprocessing code", Class: 1, Type: Code, Required: true,
		Files: []string{"preprocess*", "pre_process*", "prepare*", "prep_*", "data_prep*", "process_data*", "build_dataset*", "make_dataset*", "dedup*", "filter_data*", "data/*", "data_processing/*", "preprocessing/*"},
		Links: []string{"preprocess", "pre-process", "data processing", "data pipeline", "data preparation", "data curation", "dedup"},
	},
	{
		ID: IDIntermediateParams, Name: "Model parameters (Intermediate)", Class: 1, Type: Data, Required: true,
		Files:  under(checkpointDirs, weightFiles),
		Except: notWeights,
		Detect: checkpointRefs,
	},
	{
		ID: IDModelMetadata, Name: "Model metadata", Class: 1, Type: Data, Required: false,
		Files: []string{"trainer_state.json", "training_args.bin", "training_args.json", "optimizer*.pt", "optimizer*.bin", "scheduler*.pt", "rng_state*.pth", "*train*config*.yaml", "*train*config*.yml", "*train*config*.json", "configs/*.yaml", "configs/*.yml"},
	},
})

// codeExts are the source-code extensions code components require.
var codeExts = []string{".py", ".sh", ".ipynb", ".js", ".ts", ".rs", ".go", ".c", ".cc", ".cpp", ".cu", ".h", ".jl", ".r", ".scala", ".java", ".lua", ".mojo"}

// codeHosts are where linked code lives. A link to a Space counts: a
// Space is a git repository of code.
var codeHosts = []string{"github.com/", "gitlab.com/", "codeberg.org/", "bitbucket.org/", "git.sr.ht/", "huggingface.co/spaces/"}

// openLibraries are libraries whose implementation of a model counts as
// its open architecture and inference code, keyed by the Hub's
// library_name, with their licenses.
var openLibraries = map[string]string{
	"transformers":          "apache-2.0",
	"transformers.js":       "apache-2.0",
	"diffusers":             "apache-2.0",
	"sentence-transformers": "apache-2.0",
	"peft":                  "apache-2.0",
	"timm":                  "apache-2.0",
	"setfit":                "apache-2.0",
	"span-marker":           "apache-2.0",
	"adapter-transformers":  "apache-2.0",
	"keras":                 "apache-2.0",
	"keras-hub":             "apache-2.0",
	"tf-keras":              "apache-2.0",
	"nemo":                  "apache-2.0",
	"espnet":                "apache-2.0",
	"speechbrain":           "apache-2.0",
	"fastai":                "apache-2.0",
	"paddlenlp":             "apache-2.0",
	"gliner":                "apache-2.0",
	"mlc-llm":               "apache-2.0",
	"lerobot":               "apache-2.0",
	"allennlp":              "apache-2.0",
	"onnx":                  "apache-2.0",
	"open_clip":             "mit",
	"gguf":                  "mit", // llama.cpp
	"llama.cpp":             "mit",
	"mlx":                   "mit",
	"ctranslate2":           "mit",
	"spacy":                 "mit",
	"flair":                 "mit",
	"bertopic":              "mit",
	"fairseq":               "mit",
	"asteroid":              "mit",
	"pyannote-audio":        "mit",
	"stable-baselines3":     "mit",
	"sample-factory":        "mit",
	"scikit-learn":          "bsd-3-clause",
	"sklearn":               "bsd-3-clause",
}

// knownTools are open evaluation tools a README links to, with their
// licenses; a link to one is evaluation code under that license.
var knownTools = map[string]string{
	"github.com/eleutherai/lm-evaluation-harness":           "mit",
	"github.com/huggingface/lighteval":                      "mit",
	"github.com/bigcode-project/bigcode-evaluation-harness": "apache-2.0",
	"github.com/open-compass/opencompass":                   "apache-2.0",
	"github.com/evalplus/evalplus":                          "apache-2.0",
	"github.com/embeddings-benchmark/mteb":                  "apache-2.0",
	"github.com/stanford-crfm/helm":                         "apache-2.0",
}

// checkpointBranch matches branch names of intermediate checkpoints
// (Pythia's "step143000", OLMo's "step1000-tokens4B", "ckpt_000", ...).
const checkpointBranch = `(?i)(^|[^a-z])(step[-_]?\d|ckpt|checkpoint|intermediate)`

// Thresholds of the prose detectors.
const (
	minCardWords    = 50 // words of prose a README needs to be a model card
	minSectionWords = 10 // words of prose a README section needs to be evidence
)

// placeholder is the text of unfilled fields in the Hub's card template.
const placeholder = "[More Information Needed]"

// templateBoilerplate are sentences of the Hub's card templates
// (huggingface_hub templates/modelcard_template.md, transformers'
// generated cards) that say nothing about the model.
var templateBoilerplate = []string{
	"Users (both direct and downstream) should be made aware of the risks, biases and limitations of the model.",
	"Carbon emissions can be estimated using the [Machine Learning Impact calculator]",
	"Use the code below to get started with the model.",
	"This is the model card of a 🤗 transformers model that has been pushed on the Hub.",
	"This model card has been automatically generated.",
}

// ignoredPapers are arXiv ids that cards cite without being about the
// model: the Hub's card template cites Lacoste et al. (2019) for its
// carbon-emissions calculator.
var ignoredPapers = []string{"1910.09700"}
