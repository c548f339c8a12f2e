mod llm;
mod entities;
mod eval;
mod rules;
mod text;
mod zz_debug;
