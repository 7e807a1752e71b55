// api/sesv2_api.h: the Amazon SES API v2 (REST-JSON) over HTTP.
//
// Contract: every request except the unsigned /_herald/* endpoints is first verified with
// SigV4 (auth::VerifySigV4 with the configured region and service "ses"; keys from the
// CredentialLookup); only then is it routed. Implemented operations: SendEmail,
// GetAccount, CreateEmailIdentity, GetEmailIdentity, ListEmailIdentities and
// DeleteEmailIdentity, with the shapes of the botocore sesv2 model; any other method or
// path is 404 UnknownOperationException. Also PutEmailIdentityDkimAttributes,
// PutEmailIdentityDkimSigningAttributes (at /v1/... as older models route it, and /v2/...)
// and PutEmailIdentityMailFromAttributes. Configuration sets: CreateConfigurationSet,
// GetConfigurationSet, ListConfigurationSets, DeleteConfigurationSet and the
// PutConfigurationSet{Delivery,Sending,Reputation,Tracking,Suppression,Vdm,Archiving}Options
// operations; each Put replaces its option group (an absent member takes its default:
// OPTIONAL, false, none). Names are 1..64 of [A-Za-z0-9_-], case-sensitive; a name outside
// that rule is BadRequestException on create and NotFoundException elsewhere. Every response
// carries a fresh x-amzn-RequestId and Content-Type: application/json (text/html for the
// verification page); errors carry x-amzn-ErrorType and {"message": ...} with SES's status codes.
// The account suppression list: PutSuppressedDestination (an upsert; LastUpdateTime is the
// time of the call), GetSuppressedDestination (Attributes MessageId and FeedbackId when the
// entry was added by a bounce or complaint), DeleteSuppressedDestination and
// ListSuppressedDestinations (Reason filters, repeated; StartDate/EndDate inclusive bounds
// on LastUpdateTime, ISO 8601 or epoch seconds; PageSize 1..1000, 0 or absent: 100;
// NextToken: the last key of the page, InvalidNextTokenException when it is not one), in
// address (key) order. EmailAddress is checked as the send path checks recipients (an
// addr-spec; BadRequestException otherwise) and matched case-insensitively; an address not
// on the list is NotFoundException. PutAccountSuppressionAttributes replaces SuppressedReasons
// (absent: none) and ValidationAttributes (absent: none); GetAccount reports them.
// PutAccountSendingAttributes sets the account's own SendingEnabled (the self-pause);
// GetAccount's SendingEnabled is false while it or herald's enforcement pauses sending.
// Templates: CreateEmailTemplate, GetEmailTemplate, UpdateEmailTemplate, DeleteEmailTemplate,
// ListEmailTemplates (PageSize 1..100, default 10), TestRenderEmailTemplate (the rendered MIME
// text; a rendering error is BadRequestException); SendEmail and SendBulkEmail with
// TemplateName/TemplateArn use them. SendBulkEmail (at most 50 entries) submits each entry
// as its own SendEmail and reports BulkEmailEntryResults per entry (SUCCESS with MessageId,
// or the status SES names for the rejection). Event destinations:
// Create/Get/Update/DeleteConfigurationSetEventDestination with SnsDestination (a herald
// topic of the account), KinesisFirehoseDestination and EventBridgeDestination (a Kafka
// topic named by the ARN's stream or bus, when Kafka is configured) and
// CloudWatchDestination (Prometheus counters); PinpointDestination is BadRequestException.
// Contact lists (sesv2_contacts.cc): Create/Get/Update/Delete/ListContactLists and
// Create/Get/Update/Delete/ListContacts. One list per account (LimitExceededException);
// names and topic names 1..64 of [A-Za-z0-9_-] (a bad list name is BadRequestException on
// create, NotFoundException elsewhere); at most 20 topics. Contact addresses are checked
// as SendEmail checks recipients and matched case-insensitively; TopicPreferences must name
// topics of the list. UpdateContactList and UpdateContact replace what they carry (an
// absent member: none/false), except that UpdateContact keeps AttributesData when absent.
// GetContact and ListContacts return TopicDefaultPreferences for every topic of the list.
// ListContacts' Filter: FilteredStatus alone selects on UnsubscribeAll; with
// TopicFilter.TopicName, on the contact's status for that topic (OPT_OUT after
// UnsubscribeAll; without a preference, the topic's default when
// UseDefaultIfPreferenceUnavailable, else not listed).
// Unsigned: GET /_herald/sns/confirm?TopicArn=..&Token=.. confirms the subscription holding
// that token (SNS's ConfirmSubscriptionResponse XML); GET /_herald/sns/unsubscribe?
// SubscriptionArn=.. deletes it; GET /_herald/sns/SimpleNotificationService.pem is the
// signing certificate; GET /metrics the Prometheus counters.
// Unsigned: GET /_herald/health -> {"status":"ok"}; GET /_herald/verify-email?token=...
// marks the email identity holding that token SUCCESS when the token has not expired.
// Identity names are lower-cased, domains converted to Punycode, before they reach the
// store. Domain identities are proven by the TXT record "_amazonses.<domain>" holding
// the identity's token (checked through IdentityVerifier on GetEmailIdentity); herald
// adds "HeraldVerificationRecord" {Name, Type, Value} to identity responses for domains
// (AWS SDKs ignore unknown members). DKIM: a new domain identity gets an Easy DKIM key
// (RSA, NextSigningKeyLength or config's default, under a random 32-character selector
// returned as its one DKIM token) unless DkimSigningAttributes brings its own
// (BYODKIM: base64 DER, RSA 1024 or 2048 bits, or Ed25519 as a herald extension); the
// TXT record to publish at <selector>._domainkey.<domain> is returned as
// "HeraldDkimRecord". GetEmailIdentity re-checks that record through
// IdentityVerifier::LookupTxt: the right p= is SUCCESS, none is PENDING (FAILED after
// dkim_search_window), another p= is FAILED, a DNS failure TEMPORARY_FAILURE. An e-mail
// address shows the DKIM attributes of its domain identity (or nearest parent). A custom
// MAIL FROM domain (a subdomain of the domain identity) is SUCCESS once a "v=spf1" TXT
// record exists at it. DKIM and MAIL FROM settings are per domain identity: setting them
// on an e-mail address identity is BadRequestException. Private keys are never returned.
// The SES v1 Query API (2010-12-01, ses_v1.cc) shares the SigV4 check and answers at
// POST / only (form body, XML replies, v1 error codes; SigV4 failures at / are XML too):
// SendEmail, SendRawEmail (10 MB, 50 recipients), GetSendQuota, GetSendStatistics,
// VerifyEmailIdentity, VerifyEmailAddress, VerifyDomainIdentity, ListIdentities,
// GetIdentityVerificationAttributes and DeleteIdentity, over the same submission path and
// identity records as the v2 operations; the identity notification actions
// SetIdentityNotificationTopic, SetIdentityHeadersInNotificationsEnabled,
// SetIdentityFeedbackForwardingEnabled and GetIdentityNotificationAttributes
// (ses_v1_notifications.cc, whose opening comment gives SES's rules); any other Action is
// 400 InvalidAction.
// Thread-safety: Handle() is safe from any number of threads provided the Store,
// SendingService, CredentialLookup, IdentityVerifier and Clock are (they must be).
// Trust: the request is hostile until SigV4 passes, and its content stays hostile after;
// messages echo client text only JSON-escaped and truncated. Secrets never leave auth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_common.h"
#include "api/http_handler.h"
#include "api/identity_verifier.h"
#include "base/clock.h"
#include "sending/sending_service.h"
#include "store/store.h"

namespace herald::api {

class QueryForm;    // api/query_form.h
struct QueryReply;  // api/query_form.h

struct SendQuotaLimits {
  double max_24h_send = 200;  // -1 = unlimited
  double max_send_rate = 1;   // recipients per second
};

struct ApiConfig {
  // SigV4 region of the credential scope, e.g. "us-east-1".
  std::string region = "us-east-1";
  // The public host name clients use (for links and logs; not used by the handlers yet).
  std::string hostname = "localhost";
  // GetAccount's SendQuota for sandbox and production accounts (enforced by the sending
  // service, reported here).
  SendQuotaLimits sandbox{200, 1};
  SendQuotaLimits production{50000, 14};
  // SendEmail: To+Cc+Bcc at most this many (SES: 50).
  int max_recipients = 50;
  // SendEmail: the built or decoded message at most this many bytes (SES: 40 MB for v2).
  size_t max_message_bytes = 40 * 1024 * 1024;
  // How long an email verification link stays valid, and how long DNS is searched for a
  // domain's TXT record before it becomes FAILED (SES: 24 h and 72 h).
  std::chrono::seconds email_token_ttl = std::chrono::hours(24);
  std::chrono::seconds domain_token_ttl = std::chrono::hours(72);
  // How long DNS is searched for a DKIM key record or a MAIL FROM SPF record before a
  // missing one becomes FAILED (SES: 72 h).
  std::chrono::seconds dkim_search_window = std::chrono::hours(72);
  // Key length of Easy DKIM keys when the request names none: RSA_2048_BIT (SES's
  // default) or RSA_1024_BIT.
  std::string default_dkim_key_length = "RSA_2048_BIT";
  // Event destinations per configuration set (SES: 10).
  int max_event_destinations = 10;
  // Whether a Kafka cluster is configured: KinesisFirehoseDestination and
  // EventBridgeDestination publish to the Kafka topic their ARN names.
  bool kafka_enabled = false;
  // The size of the event log now: a new destination receives the events published after
  // it (nullptr: 0, every event in the log).
  std::function<uint64_t()> event_log_end;
  // The PEM certificate SNS-style messages are signed with, served unsigned at
  // /_herald/sns/SimpleNotificationService.pem ("": none).
  std::string sns_cert_pem;
  // Prometheus text served at GET /metrics (nullptr: 404).
  std::function<std::string()> metrics_text;
  // Serves the unsigned engagement endpoints: open pixels and click redirects under /t/,
  // unsubscribe pages and one-click POSTs under /u/ (nullptr: 404). Must outlive the API.
  HttpHandler* engagement = nullptr;
};

class SesV2Api final : public HttpHandler {
 public:
  // All references must outlive the SesV2Api.
  SesV2Api(const ApiConfig& config, store::Store& store, sending::SendingService& sending,
           sending::CredentialLookup& credentials, IdentityVerifier& verifier, Clock& clock);

  HttpResponse Handle(const HttpRequest& request) override;

 private:
  struct Call;  // one authenticated request being served
  HttpResponse Dispatch(Call& call);
  HttpResponse SendEmail(Call& call);
  HttpResponse GetAccount(Call& call);
  HttpResponse CreateEmailIdentity(Call& call);
  HttpResponse GetEmailIdentity(Call& call, const std::string& name);
  HttpResponse ListEmailIdentities(Call& call);
  HttpResponse DeleteEmailIdentity(Call& call, const std::string& name);
  HttpResponse PutEmailIdentityDkimAttributes(Call& call, const std::string& name);
  HttpResponse PutEmailIdentityDkimSigningAttributes(Call& call, const std::string& name);
  HttpResponse PutEmailIdentityMailFromAttributes(Call& call, const std::string& name);
  // EmailForwardingEnabled (absent: false) becomes the identity's feedback_forwarding.
  HttpResponse PutEmailIdentityFeedbackAttributes(Call& call, const std::string& name);
  HttpResponse CreateConfigurationSet(Call& call);
  HttpResponse GetConfigurationSet(Call& call, const std::string& name);
  HttpResponse ListConfigurationSets(Call& call);
  HttpResponse DeleteConfigurationSet(Call& call, const std::string& name);
  // PutConfigurationSet{Delivery,Sending,Reputation,Tracking,Suppression,Vdm,Archiving}Options;
  // `option` is the path suffix ("/delivery-options", "/sending", ...).
  HttpResponse PutConfigurationSetOptions(Call& call, const std::string& name,
                                          std::string_view option);
  // Templates and bulk sending (sesv2_publishing.cc).
  HttpResponse CreateEmailTemplate(Call& call);
  HttpResponse GetEmailTemplate(Call& call, const std::string& name);
  HttpResponse UpdateEmailTemplate(Call& call, const std::string& name);
  HttpResponse DeleteEmailTemplate(Call& call, const std::string& name);
  HttpResponse ListEmailTemplates(Call& call);
  HttpResponse TestRenderEmailTemplate(Call& call, const std::string& name);
  HttpResponse SendBulkEmail(Call& call);
  // Event destinations (sesv2_publishing.cc).
  HttpResponse CreateConfigurationSetEventDestination(Call& call, const std::string& set);
  HttpResponse GetConfigurationSetEventDestinations(Call& call, const std::string& set);
  HttpResponse UpdateConfigurationSetEventDestination(Call& call, const std::string& set,
                                                      const std::string& name);
  HttpResponse DeleteConfigurationSetEventDestination(Call& call, const std::string& set,
                                                      const std::string& name);
  // Reads an EventDestinationDefinition into row's enabled, matching_types, kind and
  // spec_json; the error to send when it is not valid.
  std::optional<ApiError> ParseEventDestination(const nlohmann::json& def, std::string_view prefix,
                                                int64_t account_id,
                                                store::EventDestinationRow* row);
  HttpResponse PutAccountSuppressionAttributes(Call& call);
  HttpResponse PutAccountSendingAttributes(Call& call);
  HttpResponse PutSuppressedDestination(Call& call);
  HttpResponse GetSuppressedDestination(Call& call, const std::string& address);
  HttpResponse DeleteSuppressedDestination(Call& call, const std::string& address);
  HttpResponse ListSuppressedDestinations(Call& call);
  // Contact lists and contacts (sesv2_contacts.cc): every path under
  // /v2/email/contact-lists is routed by DispatchContacts.
  HttpResponse DispatchContacts(Call& call);
  HttpResponse CreateContactList(Call& call);
  HttpResponse GetContactList(Call& call, const std::string& name);
  HttpResponse UpdateContactList(Call& call, const std::string& name);
  HttpResponse DeleteContactList(Call& call, const std::string& name);
  HttpResponse ListContactLists(Call& call);
  HttpResponse CreateContact(Call& call, const std::string& list);
  HttpResponse GetContact(Call& call, const std::string& list, const std::string& email);
  HttpResponse UpdateContact(Call& call, const std::string& list, const std::string& email);
  HttpResponse DeleteContact(Call& call, const std::string& list, const std::string& email);
  HttpResponse ListContacts(Call& call, const std::string& list);
  // The SES v1 Query API (ses_v1.cc): POST / is routed to DispatchV1, which checks the
  // method and Content-Type, parses the form (api/query_form.h) and runs the Action's
  // handler from its action table (kV1Actions in ses_v1.cc). Each handler returns the
  // inner XML of <ActionResult> or the v1 error; DispatchV1 wraps either in its envelope.
  using V1Handler = QueryReply (SesV2Api::*)(Call& call, const QueryForm& form);
  HttpResponse DispatchV1(Call& call);
  QueryReply V1SendEmail(Call& call, const QueryForm& form);
  QueryReply V1SendRawEmail(Call& call, const QueryForm& form);
  QueryReply V1GetSendQuota(Call& call, const QueryForm& form);
  QueryReply V1GetSendStatistics(Call& call, const QueryForm& form);
  QueryReply V1VerifyEmailIdentity(Call& call, const QueryForm& form);
  QueryReply V1VerifyEmailAddress(Call& call, const QueryForm& form);
  QueryReply V1VerifyDomainIdentity(Call& call, const QueryForm& form);
  QueryReply V1ListIdentities(Call& call, const QueryForm& form);
  QueryReply V1GetIdentityVerificationAttributes(Call& call, const QueryForm& form);
  QueryReply V1DeleteIdentity(Call& call, const QueryForm& form);
  // Identity notifications (ses_v1_notifications.cc).
  QueryReply V1SetIdentityNotificationTopic(Call& call, const QueryForm& form);
  QueryReply V1SetIdentityHeadersInNotificationsEnabled(Call& call, const QueryForm& form);
  QueryReply V1SetIdentityFeedbackForwardingEnabled(Call& call, const QueryForm& form);
  QueryReply V1GetIdentityNotificationAttributes(Call& call, const QueryForm& form);
  // The caller's verified identity named by the form's Identity (a name or an SES identity
  // ARN) into `*out`; otherwise the v1 error (InvalidParameterValue when there is none).
  std::optional<ApiError> V1FindVerifiedIdentity(Call& call, const QueryForm& form,
                                                 store::Identity* out);
  // The caller's identities among the form's Identities list (at most 100; names or SES
  // identity ARNs), each once with the name as given, in order; the others are left out.
  std::optional<ApiError> V1ListedIdentities(
      Call& call, const QueryForm& form, std::vector<std::pair<std::string, store::Identity>>* out);
  // Submits a v1 send converted to a SESv2 SendEmail body (`v2_body`), as SendEmail does.
  QueryReply V1Submit(Call& call, const std::string& v2_body, std::string_view operation);
  // Starts (or restarts) verification of an address or domain named `given`: a new
  // identity, a pending one mailed again, an expired one given a fresh deadline. The
  // identity as stored in `*identity`; otherwise the v1 error.
  std::optional<ApiError> V1StartVerification(Call& call, const std::string& given, bool domain,
                                              store::Identity* identity);

  // Shared by the SESv2 and v1 handlers (sesv2_api.cc).
  // Completes and stores a new identity: a fresh verification token and deadline, and for
  // a domain without a key an Easy DKIM key of `dkim_key_length`; then mails an address its
  // verification link. kAlreadyExists when the caller already has it.
  Status CreateIdentityRecord(const sending::Principal& principal, store::Identity* identity,
                              const std::string& dkim_key_length);
  // Deletes the caller's identity named `given` (normalised first; `*name` gets the name
  // looked for). kNotFound when there is none, or `given` cannot be an identity name.
  Status DeleteIdentityNamed(int64_t account_id, const std::string& given, std::string* name);
  // GetAccount's SendQuota figures.
  struct SendQuotaFigures {
    store::Account account;
    SendQuotaLimits limits;
    int64_t sent_last_24h = 0;
  };
  StatusOr<SendQuotaFigures> SendQuotaOf(int64_t account_id);
  // The caller's identity named `given` (normalised), or the error reply to send.
  StatusOr<store::Identity> FindIdentity(Call& call, const std::string& given, HttpResponse* error);
  // GET /_herald/sns/{SimpleNotificationService.pem,confirm,unsubscribe} (sesv2_publishing.cc).
  HttpResponse SnsEndpoint(const HttpRequest& request, std::string_view path,
                           std::string_view query);
  HttpResponse Health();
  HttpResponse VerifyEmail(const HttpRequest& request);

  // Re-evaluates a PENDING identity (token expiry, DNS for domains) and stores a change.
  StatusOr<store::Identity> Refresh(store::Identity identity);
  // The same for a domain's DKIM record (giving a keyless domain its Easy DKIM key first)
  // and its MAIL FROM domain's SPF record.
  StatusOr<store::Identity> RefreshDkim(store::Identity identity);
  StatusOr<store::Identity> RefreshMailFrom(store::Identity identity);
  // DkimAttributes for an identity (an address: its domain identity's).
  StatusOr<nlohmann::json> DkimAttributes(const store::Identity& identity);

  ApiConfig config_;
  store::Store& store_;
  sending::SendingService& sending_;
  sending::CredentialLookup& credentials_;
  IdentityVerifier& verifier_;
  Clock& clock_;
  // Serialises the read-change-write of a configuration set's option groups, so that two
  // Put*Options calls on one set cannot undo each other (this process only).
  std::mutex config_set_mu_;
};

// The JSON error reply for `error` (status, x-amzn-ErrorType, {"message": ...}).
HttpResponse ErrorResponse(const ApiError& error);

// Gives `identity` a fresh Easy DKIM key: RSA of `key_length` (RSA_1024_BIT |
// RSA_2048_BIT), a random selector, origin AWS_SES, status PENDING, generated `now`.
// Used by CreateEmailIdentity and the operator's CLI. kInvalidArgument for another length.
Status AssignNewDkimKey(store::Identity* identity, const std::string& key_length, SysTime now);

// The TXT record a domain identity asks to have published for its DKIM key:
// {name "<selector>._domainkey.<domain>", value "v=DKIM1; k=rsa; p=..."}; kNotFound when
// the identity has no key.
struct DnsRecord {
  std::string name;
  std::string type = "TXT";
  std::string value;
};
StatusOr<DnsRecord> DkimRecordFor(const store::Identity& identity);

}  // namespace herald::api
