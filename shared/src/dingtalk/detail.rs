//! Fetching one approval instance's details.
//!
//! `topapi/processinstance/get` wraps the instance in `process_instance`, and the v1.0
//! `GET /v1.0/workflow/processInstances` wraps it in `result`. Either object is decoded
//! into the same [`ApprovalInstance`], which keeps the object exactly as fetched.

use serde_json::{Value, json};

use crate::approval::ApprovalInstance;

use super::client::DingTalkClient;
use super::config::ApiFlavor;
use super::endpoint::Endpoint;
use super::error::DingTalkError;
use super::transport::Request;

impl DingTalkClient {
    /// Fetches and decodes one instance.
    ///
    /// An id DingTalk does not know yields [`DingTalkError::InstanceNotFound`].
    pub async fn get_instance(
        &self,
        process_instance_id: &str,
    ) -> Result<ApprovalInstance, DingTalkError> {
        let request = match self.inner.settings.api {
            ApiFlavor::Topapi => Request {
                endpoint: Endpoint::GetInstance,
                query: Vec::new(),
                body: Some(json!({"process_instance_id": process_instance_id})),
                process_instance_id: Some(process_instance_id),
            },
            ApiFlavor::V1 => Request {
                endpoint: Endpoint::ProcessInstance,
                query: vec![("processInstanceId", process_instance_id.to_string())],
                body: None,
                process_instance_id: Some(process_instance_id),
            },
        };
        let mut body = self.inner.call(&request).await?;
        decode_instance(request.endpoint, process_instance_id, &mut body)
    }
}

fn decode_instance(
    endpoint: Endpoint,
    process_instance_id: &str,
    body: &mut Value,
) -> Result<ApprovalInstance, DingTalkError> {
    let api = endpoint.path();
    let key = match endpoint {
        Endpoint::GetInstance => "process_instance",
        _ => "result",
    };
    let object = match body.get_mut(key) {
        Some(object @ Value::Object(_)) => object.take(),
        _ => {
            return Err(DingTalkError::InvalidResponse {
                api,
                detail: format!("the reply has no {key} object"),
            });
        }
    };
    ApprovalInstance::from_raw(process_instance_id, object).map_err(|error| {
        DingTalkError::InvalidResponse {
            api,
            detail: error.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::approval::{ApiGeneration, InstanceStatus};

    use super::*;

    #[test]
    fn topapi_body_decoded() {
        let mut body = json!({
            "errcode": 0,
            "process_instance": {
                "title": "张三提交的费用报销",
                "business_id": "202611041640000123456",
                "status": "COMPLETED",
                "result": "agree",
                "create_time": "2026-11-04 16:40:05",
                "form_component_values": [
                    {"component_type": "MoneyField", "name": "金额", "id": "MoneyField_1", "value": "76.00"}
                ]
            },
            "request_id": "r"
        });
        let instance = decode_instance(Endpoint::GetInstance, "pi-1", &mut body).unwrap();
        assert_eq!(instance.process_instance_id, "pi-1");
        assert_eq!(instance.generation, ApiGeneration::Topapi);
        assert!(instance.is_approved());
        assert!(
            instance.raw().get("errcode").is_none(),
            "raw is the instance object"
        );
    }

    #[test]
    fn v1_body_decoded() {
        let mut body = json!({
            "result": {
                "title": "xx提交的付款申请",
                "businessId": "202606111124000123456",
                "status": "RUNNING",
                "createTime": "2026-06-11T11:24Z",
                "formComponentValues": []
            },
            "success": true
        });
        let instance = decode_instance(Endpoint::ProcessInstance, "pi-2", &mut body).unwrap();
        assert_eq!(instance.generation, ApiGeneration::V1);
        assert_eq!(instance.status, InstanceStatus::Running);
        assert_eq!(instance.business_id, "202606111124000123456");
    }

    #[test]
    fn body_without_instance_invalid() {
        let mut body = json!({"errcode": 0, "request_id": "r"});
        let error = decode_instance(Endpoint::GetInstance, "pi-3", &mut body).unwrap_err();
        assert!(
            matches!(error, DingTalkError::InvalidResponse { .. }),
            "{error:?}"
        );
    }
}
