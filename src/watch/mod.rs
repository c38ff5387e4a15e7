//! `lvsync watch`: follow the file, undo drift, keep the last good state.
