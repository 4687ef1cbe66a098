//! The virtual card's file system (ISO/IEC 7816-4:2020, clause 7): a master file, dedicated files
//! with file identifiers and optional DF names, and transparent elementary files with optional
//! short EF identifiers.
//!
//! [`Df`] and [`Ef`] are plain values used to describe a tree; [`crate::VirtualCard::new`] turns
//! the tree into the card's file system. Nothing here checks for duplicate identifiers: when two
//! children of a DF share a FID, SELECT finds the first one.

/// The file identifier of the master file.
pub const MF_FID: u16 = 0x3F00;

/// A dedicated file (ISO/IEC 7816-4, 7.1.1): a FID, an optional DF name (an application
/// identifier, up to 16 bytes) and its children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Df {
    fid: u16,
    name: Option<Vec<u8>>,
    children: Vec<Node>,
}

/// A transparent elementary file (ISO/IEC 7816-4, 7.1.2): a FID, an optional short EF identifier
/// (1 to 30), its content and who may read and update it. Its size is fixed: UPDATE BINARY writes
/// within it.
#[derive(Clone, PartialEq, Eq)]
pub struct Ef {
    fid: u16,
    sfi: Option<u8>,
    data: Vec<u8>,
    read: Access,
    update: Access,
}

/// An access condition of an EF (a simplified security attribute, ISO/IEC 7816-4, 7.4.3 and
/// 9.3): who may READ BINARY or UPDATE BINARY it.
///
/// A command refused by its condition answers `6982` (security status not satisfied).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Anyone, in plain or with secure messaging (the default).
    #[default]
    Always,
    /// Only a command sent with secure messaging in a session the card opened (device
    /// authentication); a plain command answers `6982`.
    SecureMessaging,
    /// Nobody.
    Never,
}

/// A child of a DF.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Df(Df),
    Ef(Ef),
}

impl Df {
    /// The master file `3F00`, empty.
    pub const fn mf() -> Self {
        Self {
            fid: MF_FID,
            name: None,
            children: Vec::new(),
        }
    }

    /// An empty DF with this FID.
    pub const fn new(fid: u16) -> Self {
        Self {
            fid,
            name: None,
            children: Vec::new(),
        }
    }

    /// Gives the DF a name (an AID), selectable with SELECT P1 `04`.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<Vec<u8>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a child DF.
    #[must_use]
    pub fn with_df(mut self, df: Df) -> Self {
        self.children.push(Node::Df(df));
        self
    }

    /// Adds a child EF.
    #[must_use]
    pub fn with_ef(mut self, ef: Ef) -> Self {
        self.children.push(Node::Ef(ef));
        self
    }

    /// The file identifier.
    pub const fn fid(&self) -> u16 {
        self.fid
    }

    /// The DF name, if any.
    pub fn name(&self) -> Option<&[u8]> {
        self.name.as_deref()
    }

    /// True when a direct child has this FID.
    pub fn has_child(&self, fid: u16) -> bool {
        self.children.iter().any(|c| match c {
            Node::Df(d) => d.fid == fid,
            Node::Ef(e) => e.fid == fid,
        })
    }
}

impl Ef {
    /// A transparent EF with this FID and content.
    pub fn new(fid: u16, data: impl Into<Vec<u8>>) -> Self {
        Self {
            fid,
            sfi: None,
            data: data.into(),
            read: Access::Always,
            update: Access::Always,
        }
    }

    /// Sets who may read the EF (default [`Access::Always`]).
    #[must_use]
    pub const fn with_read_access(mut self, access: Access) -> Self {
        self.read = access;
        self
    }

    /// Sets who may update the EF (default [`Access::Always`]).
    #[must_use]
    pub const fn with_update_access(mut self, access: Access) -> Self {
        self.update = access;
        self
    }

    /// Who may read the EF.
    pub const fn read_access(&self) -> Access {
        self.read
    }

    /// Who may update the EF.
    pub const fn update_access(&self) -> Access {
        self.update
    }

    /// Gives the EF a short EF identifier (1 to 30; other values are never matched).
    #[must_use]
    pub const fn with_sfi(mut self, sfi: u8) -> Self {
        self.sfi = Some(sfi);
        self
    }

    /// The file identifier.
    pub const fn fid(&self) -> u16 {
        self.fid
    }

    /// The short EF identifier, if any.
    pub const fn sfi(&self) -> Option<u8> {
        self.sfi
    }

    /// The content.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

impl std::fmt::Debug for Ef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Content may stand for personal data: show its size only.
        f.debug_struct("Ef")
            .field("fid", &format_args!("{:04X}", self.fid))
            .field("sfi", &self.sfi)
            .field("size", &self.data.len())
            .field("read", &self.read)
            .field("update", &self.update)
            .finish()
    }
}

/// Index of a file in the arena.
pub(crate) type FileId = usize;

/// The arena index of the MF.
pub(crate) const MF: FileId = 0;

/// What a file is.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Df {
        name: Option<Vec<u8>>,
        children: Vec<FileId>,
    },
    Ef {
        sfi: Option<u8>,
        data: Vec<u8>,
        read: Access,
        update: Access,
    },
}

/// One file of the arena.
#[derive(Clone, Debug)]
pub(crate) struct File {
    pub(crate) fid: u16,
    pub(crate) parent: Option<FileId>,
    pub(crate) kind: Kind,
}

/// The file system as an arena: index 0 is the MF, every other file knows its parent.
#[derive(Clone, Debug)]
pub(crate) struct FileSystem {
    files: Vec<File>,
}

impl FileSystem {
    /// Builds the arena from a tree. The root is the MF whatever FID it was given.
    pub(crate) fn new(mf: Df) -> Self {
        let mut fs = Self { files: Vec::new() };
        fs.insert_df(mf, None);
        fs
    }

    fn insert_df(&mut self, df: Df, parent: Option<FileId>) -> FileId {
        let id = self.files.len();
        let fid = if parent.is_none() { MF_FID } else { df.fid };
        self.files.push(File {
            fid,
            parent,
            kind: Kind::Df {
                name: df.name,
                children: Vec::new(),
            },
        });
        let mut ids = Vec::with_capacity(df.children.len());
        for child in df.children {
            let child_id = match child {
                Node::Df(d) => self.insert_df(d, Some(id)),
                Node::Ef(e) => self.insert_ef(e, id),
            };
            ids.push(child_id);
        }
        if let Some(File {
            kind: Kind::Df { children, .. },
            ..
        }) = self.files.get_mut(id)
        {
            *children = ids;
        }
        id
    }

    fn insert_ef(&mut self, ef: Ef, parent: FileId) -> FileId {
        let id = self.files.len();
        self.files.push(File {
            fid: ef.fid,
            parent: Some(parent),
            kind: Kind::Ef {
                sfi: ef.sfi,
                data: ef.data,
                read: ef.read,
                update: ef.update,
            },
        });
        id
    }

    /// Adds an EF under a DF (used for the generated EF.ATR).
    pub(crate) fn add_ef(&mut self, parent: FileId, ef: Ef) -> Option<FileId> {
        let id = self.files.len();
        match self.files.get_mut(parent) {
            Some(File {
                kind: Kind::Df { children, .. },
                ..
            }) => children.push(id),
            _ => return None,
        }
        Some(self.insert_ef(ef, parent))
    }

    pub(crate) fn get(&self, id: FileId) -> Option<&File> {
        self.files.get(id)
    }

    pub(crate) fn is_df(&self, id: FileId) -> bool {
        matches!(
            self.files.get(id),
            Some(File {
                kind: Kind::Df { .. },
                ..
            })
        )
    }

    pub(crate) fn parent(&self, id: FileId) -> Option<FileId> {
        self.files.get(id).and_then(|f| f.parent)
    }

    /// The children of a DF (none for an EF).
    pub(crate) fn children(&self, id: FileId) -> &[FileId] {
        match self.files.get(id) {
            Some(File {
                kind: Kind::Df { children, .. },
                ..
            }) => children,
            _ => &[],
        }
    }

    /// A direct child of `df` with this FID.
    pub(crate) fn child(&self, df: FileId, fid: u16) -> Option<FileId> {
        self.children(df)
            .iter()
            .copied()
            .find(|&c| self.files.get(c).is_some_and(|f| f.fid == fid))
    }

    /// A direct child EF of `df` with this short EF identifier.
    pub(crate) fn child_by_sfi(&self, df: FileId, sfi: u8) -> Option<FileId> {
        self.children(df).iter().copied().find(|&c| {
            matches!(self.files.get(c), Some(File { kind: Kind::Ef { sfi: Some(s), .. }, .. }) if *s == sfi)
        })
    }

    /// The first DF (depth first, MF included) whose name is `name`, or failing that, starts
    /// with `name` when `name` holds at least a 5-byte RID.
    pub(crate) fn df_by_name(&self, name: &[u8]) -> Option<FileId> {
        let named = |pred: &dyn Fn(&[u8]) -> bool| {
            self.files
                .iter()
                .position(|f| matches!(&f.kind, Kind::Df { name: Some(n), .. } if pred(n)))
        };
        named(&|n| n == name).or_else(|| {
            if name.len() >= 5 {
                named(&|n| n.starts_with(name))
            } else {
                None
            }
        })
    }

    /// The read and update conditions of an EF.
    pub(crate) fn access(&self, id: FileId) -> Option<(Access, Access)> {
        match self.files.get(id) {
            Some(File {
                kind: Kind::Ef { read, update, .. },
                ..
            }) => Some((*read, *update)),
            _ => None,
        }
    }

    /// The FIDs from the MF (excluded) down to this file.
    pub(crate) fn path_of(&self, id: FileId) -> Vec<u16> {
        let mut fids = Vec::new();
        let mut current = id;
        while let Some(file) = self.files.get(current) {
            let Some(parent) = file.parent else { break };
            fids.push(file.fid);
            current = parent;
        }
        fids.reverse();
        fids
    }

    /// Content of an EF.
    pub(crate) fn data(&self, id: FileId) -> Option<&[u8]> {
        match self.files.get(id) {
            Some(File {
                kind: Kind::Ef { data, .. },
                ..
            }) => Some(data),
            _ => None,
        }
    }

    /// Mutable content of an EF (its size stays fixed).
    pub(crate) fn data_mut(&mut self, id: FileId) -> Option<&mut [u8]> {
        match self.files.get_mut(id) {
            Some(File {
                kind: Kind::Ef { data, .. },
                ..
            }) => Some(data),
            _ => None,
        }
    }

    /// Replaces the content of an EF.
    pub(crate) fn replace_data(&mut self, id: FileId, new: Vec<u8>) {
        if let Some(File {
            kind: Kind::Ef { data, .. },
            ..
        }) = self.files.get_mut(id)
        {
            *data = new;
        }
    }

    /// Total size of the EFs under a DF, recursively.
    pub(crate) fn total_size(&self, id: FileId) -> usize {
        match self.files.get(id) {
            Some(File {
                kind: Kind::Ef { data, .. },
                ..
            }) => data.len(),
            Some(File {
                kind: Kind::Df { children, .. },
                ..
            }) => children
                .iter()
                .map(|&c| self.total_size(c))
                .fold(0, usize::saturating_add),
            None => 0,
        }
    }

    /// Follows a path of FIDs from the MF (P1 `08`, a leading `3F00` tolerated).
    pub(crate) fn resolve_path(&self, from: FileId, fids: &[u16]) -> Option<FileId> {
        let mut current = from;
        let mut rest = fids;
        while let [fid, tail @ ..] = rest {
            if !self.is_df(current) {
                return None;
            }
            current = self.child(current, *fid)?;
            rest = tail;
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> FileSystem {
        FileSystem::new(
            Df::mf()
                .with_ef(Ef::new(0x2F00, vec![1, 2, 3]).with_sfi(30))
                .with_df(
                    Df::new(0x5000)
                        .with_name([0xF0, 1, 2, 3, 4, 5])
                        .with_ef(Ef::new(0x0101, vec![9; 10])),
                ),
        )
    }

    #[test]
    fn navigates_children_paths_and_names() {
        let fs = tree();
        let ef_dir = fs.child(MF, 0x2F00);
        assert!(ef_dir.is_some());
        assert_eq!(fs.child_by_sfi(MF, 30), ef_dir);
        let app = fs.child(MF, 0x5000);
        assert_eq!(fs.df_by_name(&[0xF0, 1, 2, 3, 4, 5]), app);
        assert_eq!(
            fs.df_by_name(&[0xF0, 1, 2, 3, 4]),
            app,
            "partial name with a full RID"
        );
        assert_eq!(fs.df_by_name(&[0xF0, 1, 2]), None);
        let ef = fs.resolve_path(MF, &[0x5000, 0x0101]);
        assert_eq!(ef.and_then(|e| fs.data(e)), Some(&[9u8; 10][..]));
        assert_eq!(
            fs.resolve_path(MF, &[0x2F00, 0x0101]),
            None,
            "an EF has no children"
        );
        assert_eq!(fs.total_size(MF), 13);
        assert_eq!(ef.and_then(|e| fs.parent(e)), app);
    }

    #[test]
    fn debug_hides_content() {
        let shown = format!("{:?}", Ef::new(0x0101, b"secret".to_vec()));
        assert!(
            !shown.contains("115") && shown.contains("size: 6"),
            "{shown}"
        );
    }
}
