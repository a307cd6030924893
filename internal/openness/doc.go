// Package openness computes how open a model release is, by the Model
// Openness Framework (MOF, LF AI & Data / Generative AI Commons,
// arXiv:2403.13784) as its reference Model Openness Tool (MOT) applies it:
// a model is Class III (open model), Class II (open tooling) or Class I
// (open science) when every required component of that class and of the
// classes below it is released under an open license, and not open
// otherwise.
//
// MOT works from a producer's declaration of each component and its
// license. A Hub repository declares almost nothing, so [Classify] infers
// the components from what a repository does have: its file names, its
// card's front matter and README, its license files, and facts the caller
// looked up (the licenses of the datasets it lists, its branches). The
// inference rules are a table ([rules], documented in README.md next to
// this file), because people will argue with them; change the table, not
// the code, when they win.
//
// A component's license is resolved as MOT resolves it: the component's
// own license (the library that implements the architecture, a dataset's
// license), else a license file for its kind of content (LICENSE-CODE,
// MODEL_LICENSE, ...), else the license of the release as a whole (the
// card's license:, or a LICENSE file). A license is open when it is
// OSI-approved, FSF-libre, one of MOT's open data licenses, or OpenMDW;
// community licenses with use restrictions (Llama, Gemma, the RAIL
// family), non-commercial, no-derivatives and research-only terms are
// not, and neither are "other", "unknown" and unrecognised texts.
//
// The package is pure: it does no I/O and imports no internal package.
package openness
