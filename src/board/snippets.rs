//! The Python run on the board by [`super::ops`]. Each template is plain source with `@NAME`
//! placeholders filled by [`render`]; indentation is one space per level to keep uploads small.
//! They avoid what CircuitPython lacks (`os.ilistdir`, `hashlib` on SAMD51 builds) and fall
//! back to the `u`-prefixed module names of old MicroPython.
//!
//! Replies are line-oriented text: `print` output arrives with `\r\n` line ends.

/// Imports every snippet starts with; `_d`/`_e` decode/encode base64.
pub const PRELUDE: &str = r"try:
 import os
except ImportError:
 import uos as os
try:
 from binascii import a2b_base64 as _d,b2a_base64 as _e
except ImportError:
 from ubinascii import a2b_base64 as _d,b2a_base64 as _e
";

/// `key=value` lines describing the firmware. Some ports (qemu) have no `os.uname`; MicroPython
/// then still has `sys.implementation._machine`.
pub const BOARD_INFO: &str = r"import sys,gc
try:
 import hashlib
 h=hasattr(hashlib,'sha256')
except ImportError:
 h=0
i=sys.implementation
try:
 u=os.uname()
 m=u.machine
 r=u.release
except AttributeError:
 m=getattr(i,'_machine','')
 r=''
gc.collect()
print('name='+i.name)
print('version='+'.'.join([str(x) for x in i.version[:3]]))
print('mpy='+str(getattr(i,'_mpy','')))
print('platform='+sys.platform)
print('machine='+m)
print('release='+r)
print('hashlib='+str(int(bool(h))))
print('mem_free='+str(gc.mem_free()))
print('mem_alloc='+str(gc.mem_alloc()))
";

/// `1` if `hashlib.sha256` exists, else `0`.
pub const HAS_HASHLIB: &str = r"try:
 import hashlib
 print(int(hasattr(hashlib,'sha256')))
except ImportError:
 print(0)
";

/// `d SIZE` / `f SIZE` for @P, `-` if missing.
pub const STAT: &str = r"try:
 s=os.stat(@P)
 print('d' if s[0]&0x4000 else 'f',s[6])
except OSError as x:
 if x.args[0]!=2:raise
 print('-')
";

/// One `KIND SIZE NAME` line per entry of @P.
pub const LISTDIR: &str = r"p=@P
for n in os.listdir(p):
 s=os.stat(p.rstrip('/')+'/'+n)
 print('d' if s[0]&0x4000 else 'f',s[6],n)
";

/// The content of @P as base64 lines of @N bytes each.
pub const READ_FILE: &str = r"with open(@P,'rb') as f:
 while 1:
  b=f.read(@N)
  if not b:break
  print(_e(b).decode(),end='')
";

/// Open @P for writing as the global `_f` (the chunks that follow use it).
pub const OPEN_WRITE: &str = r"_f=open(@P,'wb')
";

/// Append one base64 chunk to `_f`; a board that restarted meanwhile fails with NameError.
pub const WRITE_CHUNK: &str = r"_f.write(_d(b'@B'))
";

/// Finish the upload.
pub const CLOSE_WRITE: &str = r"_f.close()
del _f
";

/// For each path of the list @L: `i DIGEST_BASE64`, or `i -` if missing.
pub const HASH_FILES: &str = r"import hashlib
for i,p in enumerate([@L]):
 try:
  f=open(p,'rb')
 except OSError as x:
  if x.args[0]!=2:raise
  print(i,'-')
  continue
 h=hashlib.sha256()
 while 1:
  b=f.read(512)
  if not b:break
  h.update(b)
 f.close()
 print(i,_e(h.digest()).decode().strip())
";

/// For each path of the list @L: `i -` if missing, else `i +`, base64 lines of @N bytes, `.`.
pub const READ_FILES: &str = r"for i,p in enumerate([@L]):
 try:
  f=open(p,'rb')
 except OSError as x:
  if x.args[0]!=2:raise
  print(i,'-')
  continue
 print(i,'+')
 while 1:
  b=f.read(@N)
  if not b:break
  print(_e(b).decode(),end='')
 f.close()
 print('.')
";

/// Rename @A to @B, replacing a file at @B. Old FAT code refuses to rename onto an existing
/// file (EEXIST, 17): then remove and retry. Syncs the filesystem where `os.sync` exists.
pub const RENAME: &str = r"try:
 os.rename(@A,@B)
except OSError as x:
 if x.args[0]!=17:raise
 os.remove(@B)
 os.rename(@A,@B)
if hasattr(os,'sync'):os.sync()
";

/// Create and delete the file @P: fails with EROFS where Python may not write.
pub const PROBE_WRITE: &str = r"f=open(@P,'wb')
f.close()
os.remove(@P)
";

/// Delete the file @P.
pub const REMOVE: &str = r"os.remove(@P)
";

/// Delete the empty folder @P.
pub const RMDIR: &str = r"os.rmdir(@P)
";

/// Create each folder of the list @L that does not exist yet. Existing ones are not touched
/// (`mkdir` on a mount point such as MicroPython's `/flash` can fail with EPERM); a file in
/// the way is ENOTDIR (20).
pub const MKDIR_P: &str = r"for p in [@L]:
 try:
  if os.stat(p)[0]&0x4000:continue
  raise OSError(20)
 except OSError as x:
  if x.args[0]!=2:raise
 os.mkdir(p)
";

/// Fill the `@X` placeholders (one capital letter) of `template` in a single pass, so a value
/// containing `@` is never substituted again, and put the [`PRELUDE`] in front (unless
/// `prelude` is false, for the per-chunk snippet that relies on an earlier one).
pub fn render(template: &str, prelude: bool, values: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(PRELUDE.len() + template.len() + 64);
    if prelude {
        out.push_str(PRELUDE);
    }
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '@' {
            if let Some((_, value)) = chars
                .peek()
                .and_then(|k| values.iter().find(|(key, _)| key == k))
            {
                out.push_str(value);
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &[
        PRELUDE,
        BOARD_INFO,
        HAS_HASHLIB,
        STAT,
        LISTDIR,
        READ_FILE,
        OPEN_WRITE,
        WRITE_CHUNK,
        CLOSE_WRITE,
        HASH_FILES,
        READ_FILES,
        RENAME,
        PROBE_WRITE,
        REMOVE,
        RMDIR,
        MKDIR_P,
    ];

    #[test]
    fn indentation_is_one_space_per_level_and_lines_end() {
        for s in ALL {
            assert!(s.ends_with('\n'), "{s}");
            for line in s.lines() {
                assert!(!line.contains('\t') && !line.ends_with(' '), "{line:?}");
                let indent = line.len() - line.trim_start().len();
                assert!(indent <= 3, "{line:?}");
            }
        }
    }

    #[test]
    fn render_fills_every_placeholder() {
        let code = render(RENAME, true, &[('A', "'/@B'"), ('B', "'/b'")]);
        assert!(code.starts_with(PRELUDE));
        assert!(code.contains("os.rename('/@B','/b')"), "{code}");
        assert_eq!(
            render(WRITE_CHUNK, false, &[('B', "QQ==")]),
            "_f.write(_d(b'QQ=='))\n"
        );
        for s in ALL {
            let filled = render(
                s,
                false,
                &[('P', "p"), ('N', "1"), ('B', "b"), ('L', "l"), ('A', "a")],
            );
            assert!(!filled.contains('@'), "{filled}");
        }
    }
}
