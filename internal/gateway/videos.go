package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// OpenAI's Videos API runs jobs: a create (or a remix of an earlier video)
// answers at once with a video object whose id the client then polls,
// downloads and deletes. A job lives at the deployment that took it, so
// the gateway remembers, per tenant, which deployment made each video, as
// it does for Responses API responses: another tenant's id is a 404, and
// the list shows a tenant only its own videos. A job is charged when it
// is created, for the seconds its answer says it will make.
const (
	// videoAffinityTTL outlives a job and the day OpenAI keeps its video.
	videoAffinityTTL = 7 * 24 * time.Hour
	// remixSecondsEstimate is what a remix's budget reservation assumes
	// (the longest sora-2 clip); the answer's seconds are what is charged.
	remixSecondsEstimate = 12
	// maxVideoList bounds each upstream list page the gateway reads.
	maxVideoList = 8 << 20
)

func videoKey(tenant, id string) string { return cache.TenantPrefix(tenant) + "video:" + id }

func servesVideo(p provider.Provider) bool { _, ok := p.(provider.VideoMaker); return ok }

// videoAnswer is what serveRelayed needs of a job the provider took.
func videoAnswer(resp *llm.VideoResponse) relayedAnswer {
	return relayedAnswer{raw: resp.Raw, seconds: resp.Seconds, keptID: resp.ID, keepFor: videoKey, keepTTL: videoAffinityTTL}
}

// ServeVideos serves POST /v1/videos (serveRelayed), to the deployments
// with capabilities.video: the form (or JSON) relayed with only model
// rewritten. A request without a model goes to the first of them.
func (g *Gateway) ServeVideos(w http.ResponseWriter, r *http.Request) {
	g.serveRelayed(w, r, "switchyard.videos", func(body []byte, contentType string) (relayed, error) {
		req, seconds, input, err := openaiapi.ParseVideo(body, contentType)
		if err != nil {
			return relayed{}, err
		}
		return g.videoJob(req, input, seconds), nil
	})
}

// ServeVideoRemix serves POST /v1/videos/{id}/remix: a new job made from
// a video of the caller's tenant, at the deployment that made it.
func (g *Gateway) ServeVideoRemix(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	g.serveRelayed(w, r, "switchyard.videos", func(body []byte, _ string) (relayed, error) {
		req, input, err := openaiapi.ParseVideoRemix(body, id)
		if err != nil {
			return relayed{}, err
		}
		job := g.videoJob(req, input, remixSecondsEstimate)
		job.pin = func(ctx context.Context, tenant string) (string, *apiError) {
			dep, err := g.videoDeployment(ctx, tenant, id)
			switch {
			case err != nil:
				return "", errResponseStore
			case dep == "":
				return "", videoNotFound(id)
			}
			return dep, nil
		}
		return job, nil
	})
}

// videoJob is the relayed request of a create or remix.
func (g *Gateway) videoJob(req *llm.VideoRequest, input, seconds int) relayed {
	return relayed{
		model: req.Model, inputTokens: input, seconds: seconds,
		capability: config.CapVideo, what: "the Videos API", serves: servesVideo,
		call: calling(req, g.exec.CreateVideo, videoAnswer),
	}
}

// videoDeployment is the deployment that made video id for tenant, or ""
// when the gateway does not know it; an error when it cannot tell.
func (g *Gateway) videoDeployment(ctx context.Context, tenant, id string) (string, error) {
	if !validResponseID(id) {
		return "", nil
	}
	return g.keptDeployment(ctx, videoKey(tenant, id))
}

// videoMaker is deployment name of rt when it serves the Videos API.
func (rt *runtime) videoMaker(name string) (*deployment, provider.VideoMaker, bool) {
	d, ok := rt.deployments[name]
	if !ok {
		return nil, nil, false
	}
	vm, ok := d.prov.(provider.VideoMaker)
	return d, vm, ok
}

func videoNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "video_not_found", anthropicType: "not_found_error",
		message: "no video " + strconv.Quote(truncate(id, 100)) + " was made through this gateway for this API key's tenant (or it has expired)"}
}

// ServeVideoObject serves GET and DELETE /v1/videos/{id} and GET
// /v1/videos/{id}/content (the video, or its thumbnail or spritesheet by
// variant), relayed to the deployment that made the video; the content
// goes out as it comes. A deleted video is forgotten.
func (g *Gateway) ServeVideoObject(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.videos.object")
	defer g.finish(r.Context(), x)
	rt, _, ok := g.authenticatedObject(w, r, x)
	if !ok {
		return
	}
	id := r.PathValue("id")
	dep, err := g.videoDeployment(r.Context(), x.who.TenantID, id)
	if err != nil {
		g.fail(w, x, errResponseStore)
		return
	}
	d, vm, ok := rt.videoMaker(dep)
	if !ok {
		g.fail(w, x, videoNotFound(id))
		return
	}
	op := "videos/" + url.PathEscape(id)
	if strings.HasSuffix(r.URL.Path, "/content") {
		op += "/content"
	}
	gone := &apiError{status: http.StatusNotFound, code: "video_not_found", anthropicType: "not_found_error",
		message: "video " + strconv.Quote(id) + " was not found at the deployment that made it (deleted or expired)"}
	if g.forwardObject(w, r, x, d, vm, op, nil, gone) && r.Method == http.MethodDelete {
		g.forget(r.Context(), videoKey(x.who.TenantID, id))
	}
}

// ServeVideoList serves GET /v1/videos: the list of the first deployment
// with capabilities.video (limit, after and order), with only the videos
// this tenant made through the gateway in it, since the upstream account
// may be shared (see serveOwnList).
func (g *Gateway) ServeVideoList(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.videos.list")
	defer g.finish(r.Context(), x)
	rt, _, ok := g.authenticatedObject(w, r, x)
	if !ok {
		return
	}
	name := rt.firstWith(config.CapVideo, nil)
	d, vm, ok := rt.videoMaker(name)
	if !ok {
		g.fail(w, x, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
			message: "no deployment serves the Videos API (capabilities.video)"})
		return
	}
	x.decision.Route = name
	g.serveOwnList(w, r, x, name, d, vm, ownList{
		op: "videos", what: "video", maxBytes: maxVideoList,
		filter: func(string) bool { return false },
		mine: func(ctx context.Context, id string) (bool, error) {
			dep, err := g.videoDeployment(ctx, x.who.TenantID, id)
			return dep == name, err
		},
	})
}
