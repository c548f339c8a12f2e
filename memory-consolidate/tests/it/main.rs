mod entities;
mod eval;
mod llm;
mod rules;
mod text;
