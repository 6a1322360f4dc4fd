package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// listPlans: GET /data/plans?source=&limit=&cursor=, ordered by id.
func (s *Server) listPlans(c *gin.Context) {
	src, err := s.querySource(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := queryPage(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, next, more, err := s.DB.ListPlans(c.Request.Context(), accountID(c), src.ID, page)
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toListResponse(list, next, more, toPlanResponse))
}

// getPlan: GET /data/plans/:id?source=.
func (s *Server) getPlan(c *gin.Context) {
	src, err := s.querySource(c)
	if err != nil {
		writeError(c, err)
		return
	}
	p, err := s.DB.GetPlan(c.Request.Context(), accountID(c), src.ID, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toPlanResponse(p))
}
