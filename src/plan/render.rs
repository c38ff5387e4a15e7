//! Plan output for people (text, in the style of Terraform) and programs (JSON).
