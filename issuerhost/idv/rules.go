package idv

// Rule is one row of the risk rule table (MODEL: the scheme's own rules
// are not public). A rule matches when every condition it sets holds; the
// first rule that matches gives the colour, and a request no rule matches
// is approved (green). The card checks (status, expiry, security code,
// account) come before the table and decline on their own.
type Rule struct {
	// Recommendation matches the token service's recommendation ("" for
	// any).
	Recommendation string
	// DeviceScoreAtMost and AccountScoreAtMost match a score from 1 up to
	// the value (0 for any; a score of 0 means none was sent and never
	// matches).
	DeviceScoreAtMost  int
	AccountScoreAtMost int
	// NoScores matches a request that carries neither score.
	NoScores bool
	// Decision and Reason are the outcome.
	Decision Decision
	Reason   Reason
}

// DefaultRules is tapsim's rule table (MODEL), first match wins:
//
//	recommendation DECLINED                    -> DECLINED   recommendation_decline
//	deviceScore 1                              -> DECLINED   risk_too_high
//	accountScore 1                             -> DECLINED   risk_too_high
//	no deviceScore and no accountScore         -> step-up    no_risk_data
//	recommendation REQUIRE_ADDITIONAL_AUTH...  -> step-up    recommendation_step_up
//	deviceScore 2-3                            -> step-up    low_device_score
//	accountScore 2-3                           -> step-up    low_account_score
//	anything else (scores 4-5)                 -> APPROVED
func DefaultRules() []Rule {
	return []Rule{
		{Recommendation: string(Declined), Decision: Declined, Reason: ReasonRecommendDecline},
		{DeviceScoreAtMost: 1, Decision: Declined, Reason: ReasonRiskTooHigh},
		{AccountScoreAtMost: 1, Decision: Declined, Reason: ReasonRiskTooHigh},
		{NoScores: true, Decision: StepUp, Reason: ReasonNoRiskData},
		{Recommendation: string(StepUp), Decision: StepUp, Reason: ReasonRecommendStepUp},
		{DeviceScoreAtMost: 3, Decision: StepUp, Reason: ReasonLowDeviceScore},
		{AccountScoreAtMost: 3, Decision: StepUp, Reason: ReasonLowAccountScore},
	}
}

func scoreAtMost(score, max int) bool { return max == 0 || (score >= 1 && score <= max) }

// Match reports whether r matches d.
func (r Rule) Match(d DecisioningData) bool {
	if r.Recommendation != "" && r.Recommendation != d.Recommendation {
		return false
	}
	if !scoreAtMost(d.DeviceScore, r.DeviceScoreAtMost) || !scoreAtMost(d.AccountScore, r.AccountScoreAtMost) {
		return false
	}
	if r.NoScores && (d.DeviceScore != 0 || d.AccountScore != 0) {
		return false
	}
	return true
}

// Evaluate runs the rule table over d: the decision and reason of the
// first rule that matches, APPROVED otherwise.
func Evaluate(rules []Rule, d DecisioningData) (Decision, Reason) {
	for _, r := range rules {
		if r.Match(d) {
			return r.Decision, r.Reason
		}
	}
	return Approved, ""
}
