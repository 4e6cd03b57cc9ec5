//! `format=html`: a page's text nodes are translated and its markup kept. The page is parsed
//! with lol_html; each text node of ordinary content (not `<script>`, `<style>`, `<title>` or
//! `<textarea>`) that holds a letter becomes one document to translate, its leading and
//! trailing white space kept around the translation.

use std::cell::RefCell;

use lol_html::html_content::{ContentType, TextType};
use lol_html::{doc_text, rewrite_str, RewriteStrSettings};

/// Opens and closes a text node's placeholder in [`Page`]'s template (private-use
/// characters, refused in the input).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// A page split into its markup and its text nodes.
#[derive(Debug)]
pub struct Page {
    /// The page with each translatable text node replaced by `OPEN index CLOSE`.
    template: String,
    /// Per placeholder: the node's leading white space, its text, its trailing white space.
    nodes: Vec<(String, String, String)>,
}

impl Page {
    /// Parses `html`.
    ///
    /// Errors: a message for a 400, when `html` holds the placeholder characters U+E000 or
    /// U+E001, or lol_html cannot rewrite it.
    pub fn parse(html: &str) -> Result<Page, String> {
        if html.contains([OPEN, CLOSE]) {
            return Err("the html holds the private-use characters U+E000 or U+E001".into());
        }
        let nodes = RefCell::new(Vec::new());
        let current = RefCell::new(String::new());
        let template = rewrite_str(
            html,
            RewriteStrSettings::new().append_document_content_handler(doc_text!(|t| {
                if t.text_type() != TextType::Data {
                    return Ok(());
                }
                current.borrow_mut().push_str(t.as_str());
                if !t.last_in_text_node() {
                    t.remove();
                    return Ok(());
                }
                let node = std::mem::take(&mut *current.borrow_mut());
                if node.chars().any(char::is_alphabetic) {
                    let core = node.trim();
                    let start = node.find(core).unwrap_or(0);
                    let lead = node[..start].to_string();
                    let trail = node[start + core.len()..].to_string();
                    let mut nodes = nodes.borrow_mut();
                    let marker = format!("{OPEN}{}{CLOSE}", nodes.len());
                    nodes.push((lead, core.to_string(), trail));
                    t.replace(&marker, ContentType::Html);
                } else {
                    t.replace(&node, ContentType::Html);
                }
                Ok(())
            })),
        )
        .map_err(|e| format!("cannot parse the html: {e}"))?;
        Ok(Page {
            template,
            nodes: nodes.into_inner(),
        })
    }

    /// The texts to translate, one per text node, in document order (as in the source: HTML
    /// character references are not decoded).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|(_, t, _)| t.as_str())
    }

    /// How many texts [`Self::texts`] gives.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The page with text node `i` replaced by `translations[i]`, escaped (`&`, `<`, `>`),
    /// between the node's own leading and trailing white space.
    ///
    /// # Panics
    /// When `translations` has fewer entries than [`Self::len`].
    pub fn fill(&self, translations: &[String]) -> String {
        let mut out = String::with_capacity(self.template.len());
        let mut rest = self.template.as_str();
        while let Some(open) = rest.find(OPEN) {
            out.push_str(&rest[..open]);
            let after = &rest[open + OPEN.len_utf8()..];
            let close = after.find(CLOSE).expect("every placeholder is closed");
            let i: usize = after[..close]
                .parse()
                .expect("a placeholder holds its index");
            let (lead, _, trail) = &self.nodes[i];
            out.push_str(lead);
            out.push_str(&escape(&translations[i]));
            out.push_str(trail);
            rest = &after[close + CLOSE.len_utf8()..];
        }
        out.push_str(rest);
        out
    }
}

/// `text` with `&`, `<` and `>` as character references.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
