"""The roles of the service, in the SLA's own words."""
from __future__ import annotations

ADVISOR = "advisor"
TEAM_LEADER = "team_leader"
SERVICE_LEAD = "service_lead"
SERVICE_MANAGER = "service_manager"
PARKING_TEAM = "parking_team"
DIRECTOR = "director"
ADMIN = "admin"

ROLE_LABELS: dict[str, str] = {
    ADVISOR: "CSC advisor",
    TEAM_LEADER: "CSC Team Leader",
    SERVICE_LEAD: "CSC Service Lead (Operations)",
    SERVICE_MANAGER: "CSC Service Manager",
    PARKING_TEAM: "Parking Team",
    DIRECTOR: "Deputy Director (OCS)",
    ADMIN: "Administrator",
}
ALL_ROLES: tuple[str, ...] = tuple(ROLE_LABELS)
CSC_STAFF: tuple[str, ...] = (ADVISOR, TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER)
MANAGERS: tuple[str, ...] = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER, DIRECTOR)
