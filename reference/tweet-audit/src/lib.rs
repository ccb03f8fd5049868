//! The reference tweet-audit pipeline (skeleton: being written).

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component {
    wit_bindgen::generate!({
        path: ["../../wit/harness", "../../wit/tweet-audit"],
        world: "gauntlet:tweet-audit/plugin",
        generate_all,
    });

    use exports::gauntlet::tweet_audit::pipeline::{
        ArchiveFile, AuditError, Criteria, Guest, Summary,
    };

    struct Pipeline;

    impl Guest for Pipeline {
        fn run(
            _files: Vec<ArchiveFile>,
            _criteria: Criteria,
            _username: String,
        ) -> Result<Summary, AuditError> {
            Err(AuditError::BadArchive("not written yet".into()))
        }
    }

    export!(Pipeline);
}
