"""Lifecycle stages (客户生命周期), read off behaviour.

The course's relationship lifecycle: exploration (考察期) → formation (形成期) → stability (稳定期),
with decline (退化期) possible at any time and, at the end, churned (流失) or won back (赢回).
Stages are *labels derived from behaviour*, not states that drive it:

* exploration: fewer than ``formation_after`` repeat purchases (renewals);
* formation: at least ``formation_after``, fewer than ``stability_after``;
* stability: at least ``stability_after``;
* decline: satisfaction below ``decline_satisfaction`` once there is evidence — at least one
  repeat purchase (renewal), so a relationship cannot degrade before it has started — or
  (non-contractual) no purchase for ``decline_recency`` of the customer's own mean
  inter-purchase times; a later satisfying purchase brings the customer back to the stage its
  history earns. New customers start in exploration.

Every change is recorded as a ``stage`` event, so journeys can be replayed.
"""

from __future__ import annotations

PROSPECT = "prospect"
EXPLORATION = "exploration"
FORMATION = "formation"
STABILITY = "stability"
DECLINE = "decline"
CHURNED = "churned"
WON_BACK = "won_back"

#: every stage, in course order
STAGES = (PROSPECT, EXPLORATION, FORMATION, STABILITY, DECLINE, CHURNED, WON_BACK)
#: the stages of an active customer
ACTIVE_STAGES = (EXPLORATION, FORMATION, STABILITY, DECLINE, WON_BACK)
#: Chinese course terms
CHINESE = {
    PROSPECT: "潜在客户",
    EXPLORATION: "考察期",
    FORMATION: "形成期",
    STABILITY: "稳定期",
    DECLINE: "退化期",
    CHURNED: "流失",
    WON_BACK: "赢回",
}


def stage_after_experience(repeat_purchases: int, satisfaction: float, cfg) -> str:
    """The stage a customer is in right after a purchase or renewal."""
    return stage_rule(cfg)(repeat_purchases, satisfaction)


def stage_rule(cfg):
    """:func:`stage_after_experience` with the thresholds of ``cfg`` (the scenario's
    ``lifecycle`` section) bound once: what a run calls after every experience."""
    decline, stability, formation = (cfg.decline_satisfaction, cfg.stability_after,
                                     cfg.formation_after)

    def stage(repeat_purchases: int, satisfaction: float) -> str:
        if satisfaction < decline and repeat_purchases >= 1:
            return DECLINE
        if repeat_purchases >= stability:
            return STABILITY
        if repeat_purchases >= formation:
            return FORMATION
        return EXPLORATION

    return stage
