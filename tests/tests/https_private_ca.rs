//! The DingTalk and K3Cloud clients over `https://` with a private certificate authority.
//!
//! Each simulator runs in-process on plain HTTP, and `socat` terminates TLS in front of
//! it with a server certificate that an `openssl`-made CA signed (see
//! `dingk3_tests::tls`). With `tls_ca_file` naming that CA, every call succeeds. Without
//! it, the same endpoint fails the TLS handshake with a configuration error that names
//! the certificate and the `tls_ca_file` key, and no request reaches the simulator.

use std::path::Path;

use dingk3::dingtalk::{DingTalkClient, DingTalkError, RawDingTalkConfig};
use dingk3::k3cloud::{BillQuery, CallError, K3CloudClient, ModelOutcome, RawK3CloudConfig};
use dingk3_simulator::dingtalk::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, RunningDingTalk};
use dingk3_simulator::k3cloud::RunningK3Cloud;
use dingk3_tests::dingtalk::{GENERATIONS, PROCESS_CODE, recent_window, start_simulator};
use dingk3_tests::k3cloud::{AuthMode, PAYBILL, assert_stored, paybill, raw_config};
use dingk3_tests::tls::{PrivateCa, TlsTerminator};
use secrecy::SecretString;

/// Claims the DingTalk simulator generates.
const CLAIMS: usize = 5;

/// Returns a DingTalk client for `api` whose both base URLs are `base_url`, trusting
/// `ca_file` when given, with one fast retry.
fn dingtalk_client(api: &str, base_url: &str, ca_file: Option<&Path>) -> DingTalkClient {
    let settings = RawDingTalkConfig {
        api: api.to_string(),
        oapi_base_url: base_url.to_string(),
        api_base_url: base_url.to_string(),
        app_key: DEFAULT_APP_KEY.to_string(),
        app_secret: Some(SecretString::from(DEFAULT_APP_SECRET)),
        rate_limit_per_second: 500,
        request_timeout_ms: 10_000,
        connect_timeout_ms: 5_000,
        tls_ca_file: ca_file.map(|path| path.display().to_string()),
        retry_attempts: 1,
        retry_initial_delay_ms: 10,
        retry_max_delay_ms: 100,
        ..RawDingTalkConfig::default()
    }
    .validate()
    .expect("the HTTPS client settings are valid");
    DingTalkClient::new(settings).expect("the client builds with the private CA")
}

/// Returns a K3Cloud client for `mode` on `base_url`, trusting `ca_file` when given.
fn k3cloud_client(
    simulator: &RunningK3Cloud,
    mode: AuthMode,
    base_url: &str,
    ca_file: Option<&Path>,
) -> K3CloudClient {
    let raw = RawK3CloudConfig {
        base_url: base_url.to_string(),
        tls_ca_file: ca_file.map(|path| path.display().to_string()),
        ..raw_config(simulator, mode)
    };
    let settings = raw.validate().expect("the HTTPS client settings are valid");
    K3CloudClient::new(settings).expect("the client builds with the private CA")
}

/// Returns the number of API calls the DingTalk simulator handled.
fn dingtalk_calls(simulator: &RunningDingTalk) -> u64 {
    simulator.handle().counters().values().sum()
}

#[tokio::test]
async fn dingtalk_https_trusts_private_ca() {
    let ca = PrivateCa::create();
    for generation in GENERATIONS {
        let simulator = start_simulator(CLAIMS).await;
        let tls = TlsTerminator::start(&ca, "127.0.0.1", simulator.address().port()).await;
        let client = dingtalk_client(generation, &tls.https_url(""), Some(&ca.ca_file()));
        let (start, end) = recent_window();

        let listing = client
            .list_instance_ids(PROCESS_CODE, start, end, |_| {})
            .await
            .unwrap_or_else(|error| panic!("{generation}: listing over HTTPS failed: {error}"));
        let first = listing
            .ids
            .first()
            .unwrap_or_else(|| panic!("{generation}: the listing returned no id"))
            .clone();
        let instance = client
            .get_instance(&first)
            .await
            .unwrap_or_else(|error| panic!("{generation}: detail over HTTPS failed: {error}"));

        assert_eq!(
            listing.ids.len(),
            CLAIMS,
            "{generation}: every claim is listed over HTTPS"
        );
        assert_eq!(
            instance.process_instance_id, first,
            "{generation}: the detail is the listed instance"
        );
        assert!(
            dingtalk_calls(&simulator) >= 3,
            "{generation}: token, listing and detail calls reached the simulator through socat"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn dingtalk_https_rejects_unknown_ca() {
    let ca = PrivateCa::create();
    for generation in GENERATIONS {
        let simulator = start_simulator(CLAIMS).await;
        let tls = TlsTerminator::start(&ca, "127.0.0.1", simulator.address().port()).await;
        let client = dingtalk_client(generation, &tls.https_url(""), None);
        let (start, end) = recent_window();

        let error = client
            .list_instance_ids(PROCESS_CODE, start, end, |_| {})
            .await
            .expect_err("a certificate of an unknown CA is rejected");

        assert!(
            matches!(error, DingTalkError::Configuration { .. }),
            "{generation}: an untrusted certificate is a configuration error, got {error:?}"
        );
        let text = error.to_string();
        assert!(
            text.to_lowercase().contains("certificate"),
            "{generation}: the error names the certificate: {text}"
        );
        let advice = dingk3::i18n::Localize::localize(&error).en;
        assert!(
            advice.contains("dingtalk.tls_ca_file"),
            "{generation}: the message names the key to set: {advice}"
        );
        assert!(
            !text.contains(DEFAULT_APP_SECRET),
            "{generation}: the error does not show the app secret: {text}"
        );
        assert_eq!(
            dingtalk_calls(&simulator),
            0,
            "{generation}: no request got past the failed handshake"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn k3cloud_https_trusts_private_ca() {
    let ca = PrivateCa::create();
    for mode in AuthMode::ALL {
        let case = format!("{mode:?}");
        let simulator = dingk3_tests::k3cloud::start_simulator().await;
        let tls = TlsTerminator::start(&ca, "127.0.0.1", simulator.address().port()).await;
        let client = k3cloud_client(
            &simulator,
            mode,
            &tls.https_url("/k3cloud/"),
            Some(&ca.ca_file()),
        );

        let outcome = client
            .save(PAYBILL, &paybill("TLS-1"))
            .await
            .unwrap_or_else(|error| panic!("{case}: save over HTTPS failed: {error}"));
        let rows = client
            .execute_bill_query(
                &BillQuery::new(PAYBILL, &["FBillNo"]).with_filter("FBillNo = 'TLS-1'"),
            )
            .await
            .unwrap_or_else(|error| panic!("{case}: query over HTTPS failed: {error}"));

        assert!(
            matches!(outcome, ModelOutcome::Saved { .. }),
            "{case}: the bill is saved over HTTPS, got {outcome:?}"
        );
        assert_eq!(rows.len(), 1, "{case}: the query over HTTPS finds the bill");
        assert_stored(&simulator, &["TLS-1"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn k3cloud_https_rejects_unknown_ca() {
    let ca = PrivateCa::create();
    for mode in AuthMode::ALL {
        let case = format!("{mode:?}");
        let simulator = dingk3_tests::k3cloud::start_simulator().await;
        let tls = TlsTerminator::start(&ca, "127.0.0.1", simulator.address().port()).await;
        let client = k3cloud_client(&simulator, mode, &tls.https_url("/k3cloud/"), None);

        let read = client
            .execute_bill_query(&BillQuery::new(PAYBILL, &["FBillNo"]))
            .await
            .expect_err("a certificate of an unknown CA is rejected");
        let write = client
            .save(PAYBILL, &paybill("TLS-2"))
            .await
            .expect_err("a certificate of an unknown CA is rejected");

        for (call, error) in [("query", &read), ("save", &write)] {
            assert!(
                matches!(error, CallError::Configuration { .. }),
                "{case}: an untrusted certificate fails the {call} as a configuration error; got {error:?}"
            );
            let text = error.to_string();
            assert!(
                text.to_lowercase().contains("certificate"),
                "{case}: the {call} error names the certificate: {text}"
            );
            assert!(
                text.contains("k3cloud.tls_ca_file"),
                "{case}: the {call} error names the key to set: {text}"
            );
        }
        assert!(
            simulator.handle().stats().calls.is_empty(),
            "{case}: no request got past the failed handshake: {:?}",
            simulator.handle().stats().calls
        );
        assert_stored(&simulator, &[], &case);
        simulator.shutdown().await;
    }
}
