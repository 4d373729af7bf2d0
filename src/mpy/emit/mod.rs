//! The bytecode emitter: what the compile pass calls, one method per opcode, to turn a scope
//! into a [`RawCode`], plus the file-wide qstr and constant tables.
//!
//! # How a compile drives it (mpy-format.md §3.1)
//!
//! Scopes are identified by a caller-chosen [`ScopeId`] (an index into the compiler's scope
//! list, which is in breadth-first discovery order). For byte-identical output the compile pass
//! must call the emitter in exactly this order:
//!
//! 1. **Pass [`Pass::Scope`]** for every scope, in list order: `begin_pass(id, Pass::Scope,
//!    info)`, the whole scope's code, `end_pass()`. In this pass the emitter writes no bytes and
//!    tracks nothing; it only fills the global tables (§3.10 "phase A"): the scope's simple
//!    name at `begin_pass`, then, in code order, the qstrs of string constants, attribute /
//!    method / super-method names, import names, and every constant object. **Name loads,
//!    stores and deletes (`load_name`, `store_global`, `load_fast`, …) register nothing in
//!    this pass**, matching the compiler's own scope pass, which handles names without
//!    reaching the emitter. The `info` passed here only needs `name`.
//! 2. Then, per scope in list order: **[`Pass::StackSize`]**, **[`Pass::CodeSize`]**, then
//!    **[`Pass::Emit`]** repeated while `end_pass` returns [`PassEnd::RepeatEmit`]. At the
//!    start of each of these passes the scope's name and then its argument names (slot order)
//!    are registered (§3.10 "phase B"), and every qstr operand is registered in code order.
//!    The final `Emit` pass stores the scope's finished code.
//! 3. [`Emitter::finish`] assembles the raw-code tree (children in `MAKE_*` order inside each
//!    parent, §2.5) and the file.
//!
//! # What each pass does
//!
//! * **Labels** come from [`Emitter::new_label`], numbered from 0 at every `begin_pass`, so
//!   the same compile gets the same label numbers in every pass. Each pass records where each
//!   label was placed.
//! * **Jumps (§3.9).** In `StackSize` every jump takes its 3-byte form (opcode + 2-byte
//!   offset; `UNWIND_JUMP` has its depth byte on top). In later passes the emitter computes
//!   `d = label − here − 2` (`here` = offset of the opcode byte) using, for a label not yet
//!   placed in this pass (forward), its position **from the previous pass**, and for a label
//!   already placed (backward), its position in this pass; it writes the 1-byte form with `d`
//!   if `d` fits (signed −64..63, unsigned 0..127), else the 2-byte form with `d − 1`. This is
//!   deliberately not "shortest encoding": replaying the passes reproduces mpy-cross's
//!   fixpoint, including forward jumps that stay long (observed `44 BF 80` for +63).
//! * **Repeat rule (§3.9).** After an `Emit` pass, if the bytecode size or the line-table size
//!   differs from the previous pass, `end_pass` returns [`PassEnd::RepeatEmit`] and the caller
//!   runs `Emit` again; otherwise [`PassEnd::Done`].
//! * **Dead code (§3.6.15).** After `JUMP`, `RETURN_VALUE`, `RAISE_*`, `POP_EXCEPT_JUMP` or
//!   `UNWIND_JUMP` nothing is written until the next `place_label`. Dead code still registers
//!   qstrs and constants, still records children, still counts towards the stack size, and
//!   still makes line-table entries (with 0 bytes).
//! * **Line numbers (§2.6, §3.8).** [`Emitter::set_source_line`] records an event only when
//!   the line is greater than the last recorded line (starting from line 1 at offset 0); each
//!   event becomes one or more entries by the 1-byte/2-byte chunking rule, and entries are
//!   never merged.
//! * **Stack (§3.7).** Every opcode applies its §2.7 delta from [`crate::mpy::opcode`] in code
//!   order, dead code included, never reset at labels; `WITH_CLEANUP` peaks at +2 before its
//!   net −2. The compiler's own extra adjustments (§3.7 list) go through
//!   [`Emitter::adjust_stack`]. `n_state = n_locals + max depth`, at least 1.
//! * **Exception stack (§3.7).** The compiler brackets every with / try-except / try-finally
//!   block, and each `except … as` hidden finally, with
//!   [`Emitter::enter_exception_level`] / [`Emitter::exit_exception_level`]; the maximum
//!   nesting becomes `n_exc_stack`.
//! * **Children (§2.5).** `make_function*` / `make_closure*` take the child's [`ScopeId`]; the
//!   operand is the child's 0-based position in the order of those calls within the parent.
//!
//! All opcode methods are infallible for the caller's convenience; the first misuse (a jump to
//! a label never placed, an offset too large, an opcode outside a pass) is kept and returned by
//! the next [`Emitter::end_pass`] or [`Emitter::finish`].

mod ops;
#[cfg(test)]
mod tests;

pub use ops::{BuildKind, CompKind};

use std::collections::HashMap;

use crate::mpy::file::{MpyFile, RawCode};
use crate::mpy::format::header::DEFAULT_SMALL_INT_BITS;
use crate::mpy::format::jump::{encode_jump, sized_jump, JumpOffset};
use crate::mpy::format::{Const, ConstTable, Header, LineTable, QstrTable, Signature, Target};

/// Identifies a scope; chosen by the compile pass (typically its index in the scope list).
pub type ScopeId = usize;

/// A jump target inside the current scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label(usize);

/// The compiler passes (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pass {
    /// Pass 1: identifier discovery; fills the tables (phase A), writes nothing.
    Scope,
    /// Pass 2: stack depth, all jumps 3 bytes.
    StackSize,
    /// Pass 3: first sizing of jumps.
    CodeSize,
    /// Pass 4, repeated until sizes are stable.
    Emit,
}

/// What the caller must do after [`Emitter::end_pass`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassEnd {
    /// Go on to the next pass or scope.
    Done,
    /// Run the `Emit` pass of this scope again: the sizes changed (§3.9).
    RepeatEmit,
}

/// What the emitter needs to know about a scope (decided by the compiler's scope analysis,
/// §3.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeInfo {
    /// Simple name: `<module>`, the def/class name, `<lambda>`, `<listcomp>`, ….
    pub name: Vec<u8>,
    /// Names of slots `0..n_pos_args + n_kwonly_args`, `*` for unnamed slots.
    pub arg_names: Vec<Vec<u8>>,
    /// Positional parameters including hidden free-variable slots.
    pub n_pos_args: u32,
    /// Keyword-only parameters.
    pub n_kwonly_args: u32,
    /// Positional parameters with defaults.
    pub n_def_pos_args: u32,
    /// Prelude scope flags (1 generator, 2 `**kw`, 4 `*args`, 8 kw-only defaults).
    pub scope_flags: u32,
    /// Number of local slots (parameters, locals, cells, free variables).
    pub n_locals: u32,
    /// Slots that become cells, in identifier order.
    pub cells: Vec<u8>,
}

/// Misuse of the emitter by the compile pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// An opcode method was called outside `begin_pass` / `end_pass`.
    #[error("emitter used outside a pass")]
    NoPass,
    /// `begin_pass` while a pass is open.
    #[error("pass for scope {scope} begun while another pass is open")]
    PassOpen {
        /// The scope whose pass was requested.
        scope: ScopeId,
    },
    /// A jump to a label that was never placed.
    #[error("scope {scope}: jump to label {label} that was never placed")]
    LabelNotPlaced {
        /// The scope.
        scope: ScopeId,
        /// The label number.
        label: usize,
    },
    /// A label placed twice in one pass.
    #[error("scope {scope}: label {label} placed twice")]
    LabelTwice {
        /// The scope.
        scope: ScopeId,
        /// The label number.
        label: usize,
    },
    /// A jump distance beyond the 2-byte range.
    #[error("scope {scope}: jump at offset {offset} is too far ({distance} bytes)")]
    JumpTooFar {
        /// The scope.
        scope: ScopeId,
        /// The jump's offset.
        offset: usize,
        /// The distance.
        distance: i64,
    },
    /// `finish` found a scope that never completed its `Emit` pass.
    #[error("scope {scope} was never emitted")]
    ScopeMissing {
        /// The scope.
        scope: ScopeId,
    },
    /// A scope was emitted but no scope made it (no `make_function*`/`make_closure*`).
    #[error("scope {scope} was emitted but never made by a parent")]
    ScopeOrphan {
        /// The scope.
        scope: ScopeId,
    },
    /// A scope is the child of more than one parent, or of itself.
    #[error("scope {scope} is made by more than one parent")]
    ScopeShared {
        /// The scope.
        scope: ScopeId,
    },
}

/// A scope whose final `Emit` pass has run.
#[derive(Debug, Clone)]
struct Finished {
    code: RawCode,
    children: Vec<ScopeId>,
}

/// The state of the pass in progress, and what carries over to the next pass of the scope.
#[derive(Debug, Clone)]
struct PassState {
    scope: ScopeId,
    pass: Pass,
    info: ScopeInfo,
    code: Vec<u8>,
    live: bool,
    labels: Vec<Option<usize>>,
    prev_labels: Vec<Option<usize>>,
    next_label: usize,
    stack: i64,
    max_stack: i64,
    exc_level: u32,
    max_exc: u32,
    lines: LineTable,
    last_line: u64,
    last_line_offset: usize,
    children: Vec<ScopeId>,
    prev_sizes: Option<(usize, usize)>,
    /// The first jump of this pass too far for its encoding. Only the pass whose code is
    /// kept reports it: label positions of earlier passes may still be too far apart.
    too_far: Option<EmitError>,
}

/// The emitter for one file.
#[derive(Debug)]
pub struct Emitter {
    target: Target,
    small_int_bits: u8,
    qstrs: QstrTable,
    consts: ConstTable,
    finished: HashMap<ScopeId, Finished>,
    state: Option<PassState>,
    open: bool,
    error: Option<EmitError>,
}

impl Emitter {
    /// An emitter for a file whose qstr 0 is `source_name` (§3.11: the path as given, with
    /// `\` turned into `/`).
    pub fn new(source_name: &[u8], target: Target) -> Emitter {
        Emitter {
            target,
            small_int_bits: DEFAULT_SMALL_INT_BITS,
            qstrs: QstrTable::new(source_name),
            consts: ConstTable::default(),
            finished: HashMap::new(),
            state: None,
            open: false,
            error: None,
        }
    }

    /// Set the header's small-int bits (mpy-cross `-msmall-int-bits`).
    pub fn set_small_int_bits(&mut self, bits: u8) {
        self.small_int_bits = bits;
    }

    /// The qstr table so far.
    pub fn qstrs(&self) -> &QstrTable {
        &self.qstrs
    }

    /// The constant table so far.
    pub fn consts(&self) -> &ConstTable {
        &self.consts
    }

    fn fail(&mut self, e: EmitError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Start a pass over `scope`. Registers the scope's name, and in passes after
    /// [`Pass::Scope`] its argument names (§3.10).
    pub fn begin_pass(&mut self, scope: ScopeId, pass: Pass, info: &ScopeInfo) {
        if self.open {
            self.fail(EmitError::PassOpen { scope });
        }
        self.qstrs.intern(&info.name);
        if pass > Pass::Scope {
            for a in &info.arg_names {
                self.qstrs.intern(a);
            }
        }
        // Label positions and sizes carry over only between consecutive passes of one scope.
        let (prev_labels, prev_sizes) = match self.state.take() {
            Some(s) if s.scope == scope && s.pass > Pass::Scope => {
                (s.labels, Some((s.code.len(), s.lines.encoded_len())))
            }
            _ => (Vec::new(), None),
        };
        // A later pass writes about as much code as the one before.
        let code = Vec::with_capacity(prev_sizes.map_or(0, |(code, _)| code));
        self.state = Some(PassState {
            scope,
            pass,
            info: info.clone(),
            code,
            live: true,
            labels: Vec::new(),
            prev_labels,
            next_label: 0,
            stack: 0,
            max_stack: 0,
            exc_level: 0,
            max_exc: 0,
            lines: LineTable::default(),
            last_line: 1,
            last_line_offset: 0,
            children: Vec::new(),
            prev_sizes,
            too_far: None,
        });
        self.open = true;
    }

    /// End the current pass. After an `Emit` pass whose sizes match the previous pass, the
    /// scope's code is stored for [`Emitter::finish`].
    pub fn end_pass(&mut self) -> Result<PassEnd, EmitError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if !self.open {
            return Err(EmitError::NoPass);
        }
        self.open = false;
        let Some(s) = self.state.as_ref() else {
            return Err(EmitError::NoPass);
        };
        if s.pass != Pass::Emit {
            return Ok(PassEnd::Done);
        }
        let sizes = (s.code.len(), s.lines.encoded_len());
        if s.prev_sizes != Some(sizes) {
            return Ok(PassEnd::RepeatEmit);
        }
        if let Some(e) = s.too_far.clone() {
            return Err(e);
        }
        let info = &s.info;
        let arg_names = info
            .arg_names
            .iter()
            .map(|a| self.qstrs.intern(a))
            .collect();
        let n_state = (i64::from(info.n_locals) + s.max_stack).clamp(1, i64::from(u32::MAX));
        let code = RawCode {
            signature: Signature {
                n_state: n_state as u32,
                n_exc_stack: s.max_exc,
                scope_flags: info.scope_flags,
                n_pos_args: info.n_pos_args,
                n_kwonly_args: info.n_kwonly_args,
                n_def_pos_args: info.n_def_pos_args,
            },
            name: self.qstrs.intern(&info.name),
            arg_names,
            line_table: s.lines.clone(),
            cells: info.cells.clone(),
            bytecode: s.code.clone(),
            children: Vec::new(),
        };
        let finished = Finished {
            code,
            children: s.children.clone(),
        };
        self.finished.insert(s.scope, finished);
        Ok(PassEnd::Done)
    }

    /// Assemble the file with `root` (the module scope) at the top.
    pub fn finish(mut self, root: ScopeId) -> Result<MpyFile, EmitError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let mut used = HashMap::new();
        let root = assemble(&mut self.finished, &mut used, root)?;
        if let Some(&scope) = self.finished.keys().min() {
            return Err(EmitError::ScopeOrphan { scope });
        }
        Ok(MpyFile {
            header: Header::bytecode(self.target, self.small_int_bits),
            qstrs: self.qstrs.into_entries(),
            objects: self.consts.into_entries(),
            root,
        })
    }

    /// A new label for the current scope.
    pub fn new_label(&mut self) -> Label {
        match self.state_mut() {
            Some(s) => {
                let l = Label(s.next_label);
                s.next_label += 1;
                l
            }
            None => Label(usize::MAX),
        }
    }

    /// Place `label` here; code after it is live again.
    pub fn place_label(&mut self, label: Label) {
        let Some(s) = self.state_mut() else { return };
        if s.pass == Pass::Scope {
            return;
        }
        s.live = true;
        if s.labels.len() <= label.0 {
            s.labels.resize(label.0 + 1, None);
        }
        if s.labels[label.0].is_some() {
            let scope = s.scope;
            self.fail(EmitError::LabelTwice {
                scope,
                label: label.0,
            });
            return;
        }
        s.labels[label.0] = Some(s.code.len());
    }

    /// Record that the code from here on comes from source line `line` (§3.8).
    pub fn set_source_line(&mut self, line: u64) {
        let Some(s) = self.state_mut() else { return };
        if s.pass == Pass::Scope || line <= s.last_line {
            return;
        }
        let offset = s.code.len();
        s.lines
            .push_event((offset - s.last_line_offset) as u64, line - s.last_line);
        s.last_line = line;
        s.last_line_offset = offset;
    }

    /// Apply one of the compiler's own stack adjustments (§3.7).
    pub fn adjust_stack(&mut self, delta: i64) {
        if let Some(s) = self.state_mut() {
            s.stack += delta;
            s.max_stack = s.max_stack.max(s.stack);
        }
    }

    /// Enter a with / try-except / try-finally block or an `except … as` hidden finally.
    pub fn enter_exception_level(&mut self) {
        if let Some(s) = self.state_mut() {
            s.exc_level += 1;
            s.max_exc = s.max_exc.max(s.exc_level);
        }
    }

    /// Leave the block entered by the matching [`Emitter::enter_exception_level`].
    pub fn exit_exception_level(&mut self) {
        if let Some(s) = self.state_mut() {
            s.exc_level = s.exc_level.saturating_sub(1);
        }
    }

    /// Register a qstr and return its table index (for operands; registration follows the
    /// phase rules of §3.10 through the callers).
    fn qstr(&mut self, text: &[u8]) -> u32 {
        self.qstrs.intern(text)
    }

    /// Register a constant object and return its index.
    fn constant(&mut self, c: Const, nan_ids: Vec<u32>) -> u32 {
        self.consts.add_object(c, nan_ids)
    }

    fn state_mut(&mut self) -> Option<&mut PassState> {
        if !self.open {
            self.fail(EmitError::NoPass);
            return None;
        }
        self.state.as_mut()
    }

    /// The current pass's state if it is a code-producing pass (not `Scope`).
    fn code_state(&mut self) -> Option<&mut PassState> {
        self.state_mut().filter(|s| s.pass != Pass::Scope)
    }

    /// Emit an opcode with already-encoded operand bytes, applying `delta` to the stack.
    fn raw(&mut self, bytes: &[u8], delta: i64) {
        let Some(s) = self.code_state() else { return };
        if s.live {
            s.code.extend_from_slice(bytes);
        }
        s.stack += delta;
        s.max_stack = s.max_stack.max(s.stack);
    }

    /// Like [`Emitter::raw`], with the bytes written by `write` straight into the code, so an
    /// opcode with an operand needs no buffer of its own.
    fn raw_with(&mut self, delta: i64, write: impl FnOnce(&mut Vec<u8>)) {
        let Some(s) = self.code_state() else { return };
        if s.live {
            write(&mut s.code);
        }
        s.stack += delta;
        s.max_stack = s.max_stack.max(s.stack);
    }

    /// Stop writing until the next label (after an unconditional transfer).
    fn mark_dead(&mut self) {
        if let Some(s) = self.code_state() {
            s.live = false;
        }
    }

    /// Emit a jump opcode to `label` (with UNWIND_JUMP's trailing byte if `extra` is set).
    fn jump_op(&mut self, opcode: u8, signed: bool, label: Label, extra: Option<u8>, delta: i64) {
        let Some(s) = self.code_state() else { return };
        s.stack += delta;
        s.max_stack = s.max_stack.max(s.stack);
        if !s.live {
            return;
        }
        let here = s.code.len();
        s.code.push(opcode);
        if s.pass == Pass::StackSize {
            s.code.extend_from_slice(&[0x80, 0x00]);
        } else {
            let backward = s.labels.get(label.0).copied().flatten();
            let forward = s.prev_labels.get(label.0).copied().flatten();
            let Some(target) = backward.or(forward) else {
                s.code.truncate(here);
                let scope = s.scope;
                self.fail(EmitError::LabelNotPlaced {
                    scope,
                    label: label.0,
                });
                return;
            };
            let d = target as i64 - here as i64 - 2;
            let off: JumpOffset = sized_jump(signed, d);
            if !encode_jump(signed, off, &mut s.code) {
                // Keep the widest size so that later labels move as little as possible, as
                // if it fitted; whether it does in the end is for the last pass to say.
                s.code.extend_from_slice(&[0xFF, 0x7F]);
                if s.too_far.is_none() {
                    s.too_far = Some(EmitError::JumpTooFar {
                        scope: s.scope,
                        offset: here,
                        distance: d,
                    });
                }
            }
        }
        s.code.extend(extra);
    }

    /// Record `child` as a child of the current scope and return its operand index.
    fn child_index(&mut self, child: ScopeId) -> u64 {
        let Some(s) = self.code_state() else { return 0 };
        let i = match s.children.iter().position(|&c| c == child) {
            Some(i) => i,
            None => {
                s.children.push(child);
                s.children.len() - 1
            }
        };
        i as u64
    }

    /// Whether the next opcode would be written: false after `JUMP`, `RETURN_VALUE`, `RAISE_*`,
    /// `POP_EXCEPT_JUMP` or `UNWIND_JUMP` until a label is placed (§3.6.15). The compile pass
    /// can use it to skip the implicit `return None` at the end of a body, although emitting
    /// it into dead code writes nothing anyway.
    pub fn is_live(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.live)
    }

    /// Whether the current pass writes code (false in [`Pass::Scope`] or outside a pass).
    fn in_code_pass(&self) -> bool {
        self.open && self.state.as_ref().is_some_and(|s| s.pass != Pass::Scope)
    }
}

fn assemble(
    finished: &mut HashMap<ScopeId, Finished>,
    used: &mut HashMap<ScopeId, ()>,
    scope: ScopeId,
) -> Result<RawCode, EmitError> {
    if used.insert(scope, ()).is_some() {
        return Err(EmitError::ScopeShared { scope });
    }
    let f = finished
        .remove(&scope)
        .ok_or(EmitError::ScopeMissing { scope })?;
    let mut code = f.code;
    for child in f.children {
        code.children.push(assemble(finished, used, child)?);
    }
    Ok(code)
}
